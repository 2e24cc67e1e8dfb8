// Types of scripts/generate-schema.mjs, for the up-to-date test (src/schema-generated.test.ts).

/** The package directory (packages/mesos-client). */
export const PACKAGE_DIR: string;
/** The .proto files, relative to proto/, in load order. */
export const PROTO_FILES: readonly string[];
/** Output files, relative to the package directory. */
export const OUTPUT_FILES: { readonly descriptor: string; readonly types: string };
/** The TypeScript name of a message or enum, e.g. `.mesos.v1.scheduler.Call.Subscribe` → `SchedulerCallSubscribe`. */
export function tsNameOf(fullName: string): string;
/** Generates the contents of both output files from the .proto sources. */
export function generateSchemaSources(protoDir?: string): { descriptor: string; types: string };
