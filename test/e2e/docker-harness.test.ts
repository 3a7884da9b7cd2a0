/** Proves the test harness has a real container engine: a container runs, isolated, and reports back. */
import Docker from 'dockerode';
import { expect, it } from 'vitest';
import { describeWithDocker } from '../support/docker.js';

const IMAGE = 'local/busybox:1';

/** Splits Docker's multiplexed log stream (8-byte frame headers) into stdout and stderr. */
function demultiplex(buffer: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const stream = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    const frame = buffer.subarray(offset + 8, offset + 8 + size);
    (stream === 2 ? err : out).push(frame);
    offset += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

describeWithDocker('the Docker engine the tests use', () => {
  const docker = new Docker();

  it('runs a registry-free container with no network and returns its output and exit code', async () => {
    const container = await docker.createContainer({
      Image: IMAGE,
      Cmd: [
        'sh',
        '-c',
        'echo "interfaces: $(ls /sys/class/net | tr "\\n" " ")"; echo "to stderr" >&2; exit 7',
      ],
      HostConfig: { NetworkMode: 'none' },
      Labels: { 'org.synapse-orchestrator.test': 'docker-harness' },
    });
    try {
      await container.start();
      const result = (await container.wait()) as { StatusCode: number };
      const logs = demultiplex(await container.logs({ stdout: true, stderr: true, follow: false }));

      expect(result.StatusCode).toBe(7);
      // With no network, the loopback interface is the only one.
      expect(logs.stdout.trim()).toBe('interfaces: lo');
      expect(logs.stderr.trim()).toBe('to stderr');
    } finally {
      await container.remove({ force: true });
    }
    const leftovers = await docker.listContainers({
      all: true,
      filters: { label: ['org.synapse-orchestrator.test=docker-harness'] },
    });
    expect(leftovers).toHaveLength(0);
  });

  it('reports a missing image at once instead of pulling it', async () => {
    await expect(docker.createContainer({ Image: 'local/does-not-exist:1' })).rejects.toMatchObject({
      statusCode: 404,
    });
  });
});
