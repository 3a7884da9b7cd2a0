// Downloads the file a participant submitted (run by node in the engine container, steps/download.cwl):
//   node download.mjs <synapseConfig> <submissionId> <output file>
// Synapse's way: the submission's entity bundle names the file handle, the submission's file URL
// (?redirect=false) answers with a presigned URL, and that URL serves the bytes.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fetchWithRetry, readSynapseConfig, run, synapse } from './synapse.mjs';

run('download', async () => {
  const [configPath, submissionId, output] = process.argv.slice(2);
  if (output === undefined)
    throw new Error('usage: node download.mjs <synapseConfig> <submissionId> <output>');
  const config = readSynapseConfig(configPath);

  const submission = await (await synapse(config, 'GET', `/evaluation/submission/${submissionId}`)).json();
  const bundle = JSON.parse(submission.entityBundleJSON ?? '{}');
  const fileHandleId = bundle.entity?.dataFileHandleId ?? bundle.fileHandles?.[0]?.id;
  if (fileHandleId === undefined) {
    throw new Error(
      `submission ${submissionId} has no file (this queue expects a CSV file, not a Docker image)`,
    );
  }
  const handle = (bundle.fileHandles ?? []).find((h) => h.id === fileHandleId) ?? {};

  const link = await synapse(
    config,
    'GET',
    `/evaluation/submission/${submissionId}/file/${fileHandleId}?redirect=false`,
  );
  const presigned = (await link.text()).trim();
  // No Authorization header: a presigned URL carries its own signature (S3 refuses both at once).
  const response = await fetchWithRetry(presigned);
  if (!response.ok) throw new Error(`the submitted file could not be downloaded (${response.status})`);
  const bytes = Buffer.from(await response.arrayBuffer());

  const md5 = createHash('md5').update(bytes).digest('hex');
  if (handle.contentMd5 !== undefined && handle.contentMd5 !== md5) {
    throw new Error(`the downloaded file's MD5 is ${md5}, but Synapse recorded ${handle.contentMd5}`);
  }
  writeFileSync(output, bytes);
  const name = handle.fileName ?? bundle.entity?.name ?? `file handle ${fileHandleId}`;
  console.log(`download: submission ${submissionId}: "${name}", ${bytes.length} bytes, saved as ${output}`);
});
