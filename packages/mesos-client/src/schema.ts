import { SparkMesosError } from '@spark-mesos/errors';
import protobuf from 'protobufjs/light.js';
import type { MesosMessageTypeName } from './generated/mesos-types.js';
import { MESOS_SCHEMA_DESCRIPTOR } from './generated/schema-descriptor.js';

/**
 * The Mesos v1 schema at run time: a protobufjs `Root` built from the generated JSON descriptor
 * with protobufjs' light build (no .proto parsing at run time).
 *
 * @see https://github.com/apache/mesos/tree/master/include/mesos/v1
 * @module
 */

/** A reflected protobufjs message type (from protobufjs' light build). */
export type MesosReflectedType = protobuf.Type;

let root: protobuf.Root | undefined;

/**
 * The protobufjs root holding every Mesos v1 message of this package (packages `mesos.v1`,
 * `mesos.v1.scheduler`, `mesos.v1.executor`). Built on first use and shared afterwards; treat it
 * as read-only.
 */
export function getMesosSchemaRoot(): protobuf.Root {
  if (root === undefined) {
    const built = protobuf.Root.fromJSON(MESOS_SCHEMA_DESCRIPTOR);
    built.resolveAll();
    root = built;
  }
  return root;
}

/**
 * The reflected type of a Mesos message by its full protobuf name.
 *
 * @param typeName e.g. `'mesos.v1.scheduler.Call'` (a leading dot is accepted)
 * @throws SparkMesosError `SM_ERR_MESOS_SCHEMA` when the schema has no such message
 */
export function lookupMesosType(typeName: MesosMessageTypeName | (string & {})): protobuf.Type {
  const name = typeName.startsWith('.') ? typeName.slice(1) : typeName;
  const found = getMesosSchemaRoot().lookup(name);
  if (!(found instanceof protobuf.Type) || `.${name}` !== found.fullName) {
    throw new SparkMesosError(
      'SM_ERR_MESOS_SCHEMA',
      `Unknown Mesos message type '${typeName}': the schema of @spark-mesos/mesos-client has no such message. ` +
        "Use a full protobuf name such as 'mesos.v1.scheduler.Call' or 'mesos.v1.TaskStatus'.",
      { cause: { typeName }, details: { typeName } },
    );
  }
  return found;
}
