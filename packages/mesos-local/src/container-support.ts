import type { ContainerInfo, TaskState, TaskStatusReason } from '@spark-mesos/mesos-client';

/** How a launch ends when the agent cannot create the container a task or executor asks for. */
export interface ContainerLaunchFailure {
  /** Always TASK_FAILED, as Mesos reports it. */
  readonly state: TaskState;
  /** REASON_EXECUTOR_TERMINATED (no containerizer took it) or REASON_CONTAINER_LAUNCH_FAILED. */
  readonly reason: TaskStatusReason;
  /** The status message, as a Mesos agent words it. */
  readonly message: string;
}

/**
 * What a Mesos 1.x agent run with `--containerizers=mesos` and no `--image_providers` does with
 * `container` (a TaskInfo's, or an ExecutorInfo's): the agents mesos-local stands for can run
 * neither Docker containers nor images, so it fails such a launch instead of running the command
 * on the host; undefined when it can launch it (no container, or a MESOS container without an
 * image: its network infos are not joined, the process runs in the host's network).
 *
 * - type DOCKER: no enabled containerizer supports it (the agent logs "None of the enabled
 *   containerizers (mesos) could create a container for the provided TaskInfo/ExecutorInfo
 *   message"); the container never exists, so the task fails with REASON_EXECUTOR_TERMINATED
 *   and "Abnormal executor termination: unknown container".
 * - a MESOS container with `mesos.image`: the provisioner has no store for the image type
 *   ("Failed to launch container: Unsupported container image type: DOCKER",
 *   REASON_CONTAINER_LAUNCH_FAILED).
 * - a volume with source SECRET: mesos-local has no volume/secret isolator, and a file that
 *   silently does not appear would be worse than a failed launch
 *   (REASON_CONTAINER_LAUNCH_FAILED, naming the volume). Environment secrets of type VALUE are
 *   honoured (see `commandEnvironment`).
 *
 * Like Mesos, all of this is decided before the fetcher runs.
 *
 * @see https://github.com/apache/mesos/blob/master/src/slave/slave.cpp (Slave::executorLaunched, sendExecutorTerminatedStatusUpdate)
 * @see https://github.com/apache/mesos/blob/master/src/slave/containerizer/mesos/provisioner/provisioner.cpp
 */
export function unsupportedContainer(container: ContainerInfo | undefined): ContainerLaunchFailure | undefined {
  if (container === undefined) return undefined;
  if (container.type === 'DOCKER') {
    return {
      state: 'TASK_FAILED',
      reason: 'REASON_EXECUTOR_TERMINATED',
      message: 'Abnormal executor termination: unknown container',
    };
  }
  const image = container.mesos?.image;
  if (image !== undefined) {
    return {
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      message: `Failed to launch container: Unsupported container image type: ${image.type}`,
    };
  }
  const secretVolume = container.volumes?.find((volume) => volume.source?.type === 'SECRET');
  if (secretVolume !== undefined) {
    return {
      state: 'TASK_FAILED',
      reason: 'REASON_CONTAINER_LAUNCH_FAILED',
      message: `Failed to launch container: mesos-local has no volume/secret isolator for the secret volume '${secretVolume.container_path}'; use an agent run with --isolation=volume/secret`,
    };
  }
  return undefined;
}
