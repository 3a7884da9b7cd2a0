/** The orchestrator's configuration, as the rest of the code sees it: typed, validated, defaults applied. */

export type ExecutionStage = 'ALL' | 'VALIDATION' | 'EXECUTION';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'json' | 'pretty';
export type EngineCommand = 'toil-cwl-runner' | 'cwltool';
export type PullPolicy = 'missing' | 'always' | 'never';

/** The three API bases of one Synapse stack (or of a Synapse-compatible server). */
export interface SynapseEndpoint {
  /** What the operator configured, without a trailing slash. */
  baseUrl: string;
  repoUrl: string;
  fileUrl: string;
  authUrl: string;
  /** True for Sage's hosted Synapse (synapse.org / sagebase.org hosts). */
  isSynapseOrg: boolean;
}

/** One evaluation queue and the entity holding its workflow template. */
export interface QueueTemplate {
  evaluationId: string;
  templateEntityId: string;
}

export interface VolumeBinding {
  hostPath: string;
  containerPath: string;
}

export interface DockerEngineSettings {
  kind: 'docker';
  /** DOCKER_ENGINE_URL as given, e.g. unix:///var/run/docker.sock or tcp://host:2376. */
  url: string;
  /** Directory with key.pem/cert.pem/ca.pem used to reach a TCP engine over TLS. */
  certPath: string;
  /** Host directory of the certificates, mounted read-only into the engine container. */
  certPathOnHost: string | undefined;
}

export interface WesEngineSettings {
  kind: 'wes';
  endpoint: string;
  sharedDir: string;
}

export interface Config {
  /** Identifies this instance on containers and submissions, so instances sharing a queue or host coexist. */
  orchestratorId: string;
  synapse: {
    endpoint: SynapseEndpoint;
    username: string | undefined;
    /** Personal access token. Never log it; the logger redacts it anyway. */
    authToken: string | undefined;
  };
  queues: QueueTemplate[];
  outputRootEntityId: string;
  engine: DockerEngineSettings | WesEngineSettings;
  workflow: {
    engineImage: string;
    toilCliOptions: string[];
    privileged: boolean;
    rwVolumes: VolumeBinding[];
    maxConcurrent: number;
    command: EngineCommand;
    maxRuntimeSeconds: number;
    memoryBytes: number | undefined;
    cpus: number | undefined;
    /** Most processes and threads of the engine container; 0 for no limit. */
    pidsLimit: number;
    pullPolicy: PullPolicy;
    /** Host path of workDir when it differs (the orchestrator in a container); see job-directory.ts. */
    workDirOnHost: string | undefined;
    keepFailedJobDirs: boolean;
  };
  templates: { maxBytes: number; maxEntries: number };
  /** Several instances on the same queues. */
  instances: {
    /** Another instance's submission not updated for this long means that instance stopped. */
    staleAfterSeconds: number;
    /** Return such submissions to the queue. */
    reclaimStale: boolean;
  };
  notifications: {
    /** Admin notifications go here; unset means the orchestrator's own account. */
    principalId: string | undefined;
    /** Bits: 1 started, 2 completed, 4 failed, 8 stopped on request, 16 timed out. */
    submitterMask: number;
    /** Messages the account may send per minute (Synapse: 10). */
    messagesPerMinute: number;
  };
  logs: { uploadIntervalSeconds: number; maxBytes: number };
  results: {
    shareImmediately: boolean;
    dataUnlockPrincipalId: string | undefined;
  };
  intake: {
    acceptNewSubmissions: boolean;
    executionStage: ExecutionStage;
    pollIntervalSeconds: number;
  };
  registries: {
    dockerHub: { username: string; password: string } | undefined;
    dockerConfigFile: string | undefined;
  };
  composeProjectName: string | undefined;
  workDir: string;
  /** The status HTTP server (health, readiness, metrics, status page); port 0 means off. */
  statusServer: { port: number; bindAddress: string };
  logging: { level: LogLevel; format: LogFormat };
}
