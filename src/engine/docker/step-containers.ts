/**
 * The workflow's step containers: the engine container starts them through the Docker socket as unlabelled
 * siblings, and Docker does not stop them when their engine container dies, so they are swept here.
 */
import { isAbsolute, normalize } from 'node:path';
import type Dockerode from 'dockerode';
import type { Logger } from '../../logging/logger.js';
import { LABELS } from '../interfaces.js';
import { reasonOf, statusOf } from './errors.js';

/**
 * Force-removes the containers the workflow started: Docker knows them only as containers with a bind
 * mount from inside the job directory (the steps are unlabelled siblings).
 */
export async function removeStepContainers(
  docker: Dockerode,
  logger: Logger,
  engineName: string,
  jobDir: string,
): Promise<void> {
  const dir = normalize(jobDir).replace(/\/+$/, '');
  // A sweep under "/" or a relative path would hit unrelated containers.
  if (!isAbsolute(dir) || dir === '') {
    logger.warn('not looking for step containers: unsafe job directory', {
      container: engineName,
      jobDir,
    });
    return;
  }
  const containers = await docker.listContainers({ all: true });
  const steps = containers.filter((info) => {
    if (info.Names.includes(`/${engineName}`)) return false;
    // Another job's engine container is never a step of this one.
    const otherJobDir = info.Labels[LABELS.jobDir];
    if (otherJobDir !== undefined && otherJobDir !== jobDir) return false;
    return info.Mounts.some(
      (mount) => mount.Type === 'bind' && (mount.Source === dir || mount.Source.startsWith(`${dir}/`)),
    );
  });
  await Promise.all(
    steps.map(async (info) => {
      const stepName = (info.Names[0] ?? info.Id).replace(/^\//, '');
      try {
        await docker.getContainer(info.Id).remove({ force: true });
        logger.info('removed step container', { container: stepName, engineContainer: engineName });
      } catch (error) {
        const status = statusOf(error);
        if (status !== 404 && status !== 409) {
          throw new Error(`Could not remove step container ${stepName} of ${engineName}: ${reasonOf(error)}`);
        }
      }
    }),
  );
}
