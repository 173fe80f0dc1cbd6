import { z } from 'zod';
import { PROTOCOLS } from '../protocols.js';

/** Default error-rate budget (src/verdict/errors.ts): the mesh may add at most 0.1 % failed requests. */
export const DEFAULT_ERROR_RATE_OVERHEAD = 0.001;

/**
 * The scenario schema: the one source of both the TypeScript types and the validation of scenario files.
 * Every field has a default where one is sensible, so a scenario states only what it cares about.
 */

const MAX_DURATION_S = 7 * 24 * 3600; // week-long pilots

export const budgetsSchema = z.strictObject({
  /** Absolute P99 budget in ms that every variant must meet. */
  p99Ms: z.number().positive().optional(),
  /** Largest allowed P99 overhead (variant P99 − unmeshed P99) in ms. */
  p99OverheadMs: z.number().nonnegative().optional(),
  /** Largest allowed P99 ratio (variant P99 ÷ unmeshed P99), e.g. 2 = at most twice the baseline. */
  p99OverheadRatio: z.number().min(1).optional(),
  /**
   * Largest allowed error-rate overhead: the variant's share of failed requests (every error kind) minus the
   * unmeshed share, as a fraction (0.001 = 0.1 percentage points). Scenario-wide default 0.001; null switches
   * the check off.
   */
  errorRateOverhead: z.number().min(0).max(1).nullable().optional(),
});

/** Scenario-wide budgets: as per protocol, with the error-rate budget on by default. */
const scenarioBudgetsSchema = budgetsSchema
  .extend({ errorRateOverhead: budgetsSchema.shape.errorRateOverhead.unwrap().default(DEFAULT_ERROR_RATE_OVERHEAD) })
  .prefault({});

/** Latency budgets: a scenario must set at least one (scenario-wide or in every protocol) to be judged on evidence. */
export const LATENCY_BUDGETS = ['p99Ms', 'p99OverheadMs', 'p99OverheadRatio'] as const;

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'a header name (token characters only)');

/** Body sizes as a distribution (src/drivers/mix.ts): a weighted list, or a lognormal clamped to [minBytes, maxBytes]. */
export const sizeDistributionSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('weighted'),
    sizes: z.array(z.strictObject({ bytes: z.int().min(0).max(MAX_BODY_BYTES), weight: z.int().min(1).max(10_000).default(1) })).min(1, 'list at least one size'),
  }),
  z
    .strictObject({
      kind: z.literal('lognormal'),
      /** The median size: half the bodies are smaller. */
      medianBytes: z.number().positive().max(MAX_BODY_BYTES),
      /** The sd of ln(size): 0.5 is a narrow spread, 1.5 a long tail. */
      sigma: z.number().positive().max(5),
      minBytes: z.int().min(0).max(MAX_BODY_BYTES).default(0),
      maxBytes: z.int().min(1).max(MAX_BODY_BYTES),
    })
    .refine((d) => d.minBytes <= d.medianBytes && d.medianBytes <= d.maxBytes, { message: 'needs minBytes ≤ medianBytes ≤ maxBytes', path: ['medianBytes'] }),
]);

/**
 * A traffic mix (http1, http2): weighted requests (paths, methods, headers), payload and response sizes drawn
 * from distributions, a fresh W3C traceparent per request. Precomputed into a pool of `poolSize` requests
 * (seeded), which every connection walks: nothing is drawn or allocated per request.
 */
export const mixSchema = z.strictObject({
  /** Requests sent in proportion to their weights, each to the target's origin; default: the protocol's path. */
  requests: z
    .array(z.strictObject({ path: z.string().startsWith('/'), method: z.string().regex(/^[A-Z]+$/, 'an upper-case HTTP method, e.g. GET').default('GET'), headers: z.record(headerName, z.string()).default({}), weight: z.int().min(1).max(10_000).default(1) }))
    .min(1, 'list at least one request')
    .refine((rs) => rs.reduce((a, r) => a + r.weight, 0) <= 10_000, { message: 'weights add up to more than 10000; scale them down (e.g. 30:10 as 3:1)' })
    .optional(),
  /** Request payload sizes, for requests whose method carries a body (not GET, HEAD, DELETE, OPTIONS). */
  payload: sizeDistributionSchema.optional(),
  /** Response sizes, asked of the echo with ?size=N. */
  response: sizeDistributionSchema.optional(),
  /** A fresh traceparent (random trace and span id, sampled) on every request. */
  traceparent: z.boolean().default(false),
  /** Seed of the pool's order. */
  seed: z.int().min(0).max(2_147_483_647).default(1),
  /** Requests precomputed; each connection walks them in order from its own place. */
  poolSize: z.int().min(1).max(8192).default(1024),
});
export type MixConfig = z.infer<typeof mixSchema>;
const seedSchema = z.int().min(0).max(2_147_483_647).default(1);
const stageSchema = z.strictObject({
  /** Seconds to ramp linearly from the previous rate to `targetRateHz`; 0: a step (the rate jumps). */
  durationS: z.number().nonnegative().max(MAX_DURATION_S),
  targetRateHz: z.number().nonnegative().max(2_000_000),
});

/**
 * Open loop: how requests arrive (src/load/arrivals/). Latency counts from each request's intended time whatever
 * the kind (coordinated-omission corrected).
 */
export const arrivalsSchema = z.discriminatedUnion('kind', [
  /** Evenly spaced at rateHz (today's behaviour, wrk2's). */
  z.strictObject({ kind: z.literal('constant') }),
  /** Independent arrivals at mean rateHz: exponential gaps from a seeded generator (same seed, same arrivals). */
  z.strictObject({ kind: z.literal('poisson'), seed: seedSchema }),
  /**
   * k6's ramping-arrival-rate: from startRateHz, each stage ramps to its target (or steps, durationS 0); the last
   * target holds to the end of the load. The stages start with the load (warm-up included). rateHz is not used.
   */
  z.strictObject({
    kind: z.literal('stages'),
    startRateHz: z.number().nonnegative().max(2_000_000).default(0),
    stages: z.array(stageSchema).min(1),
    gaps: z.enum(['even', 'poisson']).default('even'),
    seed: seedSchema,
  }),
]);
export type ArrivalsConfig = z.infer<typeof arrivalsSchema>;

export const protocolSchema = z.strictObject({
  name: z.enum(PROTOCOLS),
  /** open: constant rate, latency from the intended send time (coordinated-omission corrected); closed: back to back. */
  model: z.enum(['open', 'closed']).default('open'),
  /** Open loop: intended requests (or messages) per second across all connections. */
  rateHz: z.number().positive().max(2_000_000).default(1000),
  /** Open loop: how requests arrive — constant (default), poisson or stages. */
  arrivals: arrivalsSchema.default({ kind: 'constant' }),
  /**
   * http1: new connections as the load goes — every `everyRequests` requests on a connection, or `rateHz` per
   * second over the load — so each pays the handshakes of a new connection (a mesh: TCP and mTLS at the sidecars).
   * Their cost is reported apart (connect time, first response). Give one of the two.
   */
  churn: z.strictObject({ everyRequests: z.int().min(1).max(1_000_000_000).optional(), rateHz: z.number().positive().max(1_000_000).optional() }).optional(),
  /** TCP connections (http1, websocket) or concurrent streams (gRPC). */
  connections: z.int().min(1).max(10_000).default(16),
  /** Measured seconds per round. */
  durationS: z.number().positive().max(MAX_DURATION_S).default(10),
  /** Seconds of load before each round's measurement starts; not recorded. */
  warmupS: z.number().nonnegative().max(3600).default(1),
  /**
   * Warm-up before the protocol's first round instead of `warmupS` (when longer): the first use of a
   * protocol's code paths — the echo's and the sidecars' JIT, their first TLS sessions — is slower than any
   * later round, and would otherwise land in round 1's figures.
   */
  firstWarmupS: z.number().nonnegative().max(3600).default(3),
  /** Request body / message size in bytes. */
  payloadBytes: z.int().min(0).max(16 * 1024 * 1024).default(64),
  /** A request without a response after this long counts as a timeout error. */
  timeoutMs: z.int().positive().max(600_000).default(5000),
  /** Generator worker threads; each takes an equal share of connections and rate. */
  workers: z.int().min(1).max(64).default(1),
  /** HTTP path and query for http1/websocket, e.g. "/echo?size=512". */
  path: z.string().startsWith('/').default('/'),
  /** Extra headers sent with every request (trace context, auth). */
  headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'a header name (token characters only)'), z.string()).default({}),
  /** Per-protocol budgets; fields given here override the scenario's budgets. */
  budgets: budgetsSchema.optional(),
  /** http1, http2: a traffic mix (weighted requests, payload and response size distributions, traceparent). */
  mix: mixSchema.optional(),
  /** http2: concurrent streams per HTTP/2 connection (connections ÷ this many TCP connections). Default 1. */
  streamsPerConnection: z.int().min(1).max(1000).optional(),
});

export const validitySchema = z.strictObject({
  /** A round whose errors ÷ requests exceed this makes the run inconclusive. */
  maxErrorRate: z.number().min(0).max(1).default(0.01),
  /** Open loop: achieved ÷ intended rate below this makes the run inconclusive. */
  minAchievedRateRatio: z.number().min(0).max(1).default(0.95),
  /** Open loop: share of requests the generator sent more than `lateThresholdMs` after their intended time. */
  maxLateShare: z.number().min(0).max(1).default(0.05),
  lateThresholdMs: z.number().positive().default(1),
});

/** How the verdict's intervals are computed (src/verdict/statistics.ts). */
export const statisticsSchema = z.strictObject({
  /** Two-sided confidence of every interval: a check passes or fails only when its whole interval is on one side. */
  confidence: z.number().min(0.5).max(0.999).default(0.95),
  /** Bootstrap resamples per protocol (within-round spread). */
  resamples: z.int().min(200).max(100_000).default(2000),
  /** Seed of the resampling: the same result and seed always give the same verdict. */
  seed: z.int().min(0).max(2_147_483_647).default(1),
  /**
   * Run-to-run spread (sd, ms) of a tail overhead (p99, p99.9) that no run can see in itself — state that
   * persists through a whole run, such as which connection an echo's event loop serves first — added in
   * quadrature to those intervals (src/verdict/statistics.ts). Measured with `run --aa` on the 2-core class.
   */
  runNoiseMs: z.number().min(0).max(100).default(0.05),
});

/** `meshbench pilot`: how the days of paired measurement are cut and kept (src/pilot/). */
export const pilotSchema = z.strictObject({
  /** Seconds per window: each window is judged on its own, written (JSONL + .hlog) and fsynced when it closes. */
  windowS: z.int().min(1).max(86_400).default(3600),
  /** Time blocks per window kept on disk (consecutive 1 s intervals merged): the units of the window's own verdict. */
  blocksPerWindow: z.int().min(3).max(120).default(12),
});

/** Most services in a local call chain: each hop is a relay process and, meshed, two HAProxy sidecars. */
export const MAX_HOPS = 8;
/** Which sides of each meshed hop run a sidecar, as in Istio's own benchmark (both, clientonly, serveronly). */
export const SIDECAR_PLACEMENTS = ['both', 'client-only', 'server-only'] as const;
export type SidecarPlacement = (typeof SIDECAR_PLACEMENTS)[number];
const sidecarPlacementSchema = z.enum(SIDECAR_PLACEMENTS).default('both');
/**
 * `meshbench sweep` (src/sweep/): the open-loop rate is stepped up, per variant, until the P99 budget breaks or
 * errors or invalidity start; the knee is the highest rate that held. Each step is measured as a run's protocol
 * is (warm-up, then `rounds` × durationS in 1 s blocks) and judged on its p99's interval.
 */
export const sweepSchema = z.strictObject({
  startRateHz: z.number().positive().max(2_000_000),
  /** Each step adds this much… */
  stepRateHz: z.number().positive().max(2_000_000).optional(),
  /** …or multiplies the rate by this (e.g. 1.25). Give one of the two. */
  stepFactor: z.number().gt(1).max(10).optional(),
  maxRateHz: z.number().positive().max(2_000_000),
  /** Bisections between the last step that held and the first that broke, to narrow the knee. */
  refineSteps: z.int().min(0).max(10).default(2),
  /** The budget a step holds to: its p99's whole interval within it. Default: budgets.p99Ms. */
  p99Ms: z.number().positive().optional(),
});

/** What an event of a drill is allowed to cost, judged per non-baseline variant (src/verdict/drills.ts). */
export const eventBudgetsSchema = z.strictObject({
  /** Most failed requests (every kind) the variant may see from the event to the next event of its load, or the load's end. */
  maxErrors: z.int().min(0).optional(),
  /** Longest the variant's p99 may take to recover after the event starts (seconds; src/drills/analyze.ts says what recovered means). */
  recoveryS: z.number().positive().optional(),
});

const eventCommon = {
  /** Seconds into the round's measured window (`meshbench run`), or into the pilot's window (`meshbench pilot`), when the event starts. */
  atS: z.number().min(0.5).max(MAX_DURATION_S),
  /** `meshbench run`: the round it happens in, 1-based (each protocol's load of that round gets it); 1 when neither round nor window is given. */
  round: z.int().min(1).optional(),
  /** `meshbench pilot`: the window it happens in, 1-based over the whole pilot (reports number windows from #0: window 3 is #2). */
  window: z.int().min(1).optional(),
  /** `meshbench pilot`: and again every this many windows after it (every: 1 drills every window), to the pilot's end. */
  every: z.int().min(1).optional(),
  budgets: eventBudgetsSchema.default({}),
};
const sidecarsPick = z.enum(['client', 'server', 'both']).default('both');

/**
 * A drill's events (src/drills/): each disrupts the pair at a time in a round, while the load runs. Locally:
 * restart-sidecars (HAProxy hitless reload with -sf, or a hard stop and start), rotate-certs (a new CA: the trust
 * bundle first, then new leaf certificates, each a hitless reload of both sidecars), kill-echo (SIGKILL an echo
 * replica and start it again on its ports), sidecar-pause (SIGSTOP a sidecar for pauseMs). Kubernetes:
 * restart-sidecars is a rollout restart of the meshed echo Deployment.
 */
export const eventSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('restart-sidecars'), ...eventCommon, mode: z.enum(['hitless', 'hard']).default('hitless'), sidecar: sidecarsPick }),
  z.strictObject({ action: z.literal('rotate-certs'), ...eventCommon }),
  z.strictObject({ action: z.literal('kill-echo'), ...eventCommon, replica: z.int().min(1).max(2).default(1), restartDelayMs: z.int().min(0).max(60_000).default(0) }),
  z.strictObject({ action: z.literal('sidecar-pause'), ...eventCommon, sidecar: sidecarsPick, pauseMs: z.int().min(1).max(600_000) }),
]);

const localEnvSchema = z.strictObject({
  kind: z.literal('local'),
  /** haproxy binary for the sidecar pair. */
  haproxy: z.string().min(1).default('haproxy'),
  /** http: L7 sidecars (Istio-like, adds x-forwarded-client-cert); tcp: L4 mTLS tunnel (ambient-like). */
  sidecarMode: z.enum(['http', 'tcp']).default('http'),
  /**
   * Test/calibration knob: on the meshed path the echo replicas hold every response (HTTP/1.1, websocket
   * message, gRPC message) exactly this many ms before sending it, so a run can be checked against a known overhead. 0 = off.
   */
  plantedDelayMs: z.number().min(0).max(1000).default(0),
  /**
   * Services in the call chain (src/envs/local/index.ts): 1 = the echo alone; N = N − 1 relays, each forwarding
   * to the next hop, then the echo. Meshed, every hop passes its own sidecars; unmeshed, every hop goes direct.
   */
  hops: z.int().min(1).max(MAX_HOPS).default(1),
  sidecars: sidecarPlacementSchema,
});

const grpcTarget = z.string().regex(/^(grpcs?:\/\/)?[^\s/]+:\d+$/, 'host:port, grpc://host:port or grpcs://host:port (TLS)');
const targetsSchema = z.strictObject({
  http1: z.url({ protocol: /^https?$/ }).optional(),
  'grpc-bidi': grpcTarget.optional(),
  'grpc-unary': grpcTarget.optional(),
  websocket: z.url({ protocol: /^wss?$/ }).optional(),
  http2: z.url({ protocol: /^https?$/ }).optional(),
});

/**
 * TLS of a variant's https://, wss:// and grpcs:// targets: PEM files (paths relative to the working directory),
 * as curl's --cacert, --cert/--key and --insecure. The files are read when the run starts; result.json keeps
 * these paths and `insecure`, never a key.
 */
export const tlsSchema = z
  .strictObject({
    /** CA certificates to trust instead of the system's. */
    cacert: z.string().min(1).optional(),
    /** Client certificate (PEM, may hold the chain) and its key, for targets that require one. */
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    /** Do not verify the server's certificate: for test endpoints only; every report says so. */
    insecure: z.boolean().default(false),
  })
  .refine((t) => (t.cert === undefined) === (t.key === undefined), { message: 'cert and key go together: give both or neither' });
export type TlsConfig = z.infer<typeof tlsSchema>;

const staticVariantSchema = z.strictObject({
  targets: targetsSchema,
  /**
   * Reflected header that proves the mesh on this variant (x-forwarded-client-cert for Istio,
   * l5d-client-id for Linkerd), or "none" when it must carry no mesh marker, or "unverified".
   */
  proof: z.union([z.enum(['none', 'unverified']), z.strictObject({ header: z.string().min(1) })]),
  tls: tlsSchema.optional(),
});

const staticEnvSchema = z.strictObject({
  kind: z.literal('static'),
  variants: z.strictObject({
    unmeshed: staticVariantSchema.extend({ proof: staticVariantSchema.shape.proof.default('none') }),
    meshed: staticVariantSchema.extend({
      proof: staticVariantSchema.shape.proof.default({ header: 'x-forwarded-client-cert' }),
    }),
  }),
});

/** Meshes the kubernetes env can switch on; `none` deploys only the unmeshed namespace (a baseline). */
export const MESHES = ['istio-sidecar', 'istio-ambient', 'linkerd', 'none'] as const;

const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/, 'a Kubernetes quantity, e.g. 100m, 0.5, 128Mi');
const dnsLabel = z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a DNS label: lower-case letters, digits and "-"');
/** Requests (memory: also the limit); a CPU limit only when asked, since CFS quotas at fractional CPU throttle and inflate p99. */
const podResourcesSchema = z.strictObject({ cpu: quantity.optional(), memory: quantity.optional(), cpuLimit: quantity.optional() });

/**
 * node:22-slim as Docker Hub resolved it in 2026 (sha256:83f487e0…, pinned in public Dockerfiles and seen resolved in a
 * buildx log; a digest never moves). The
 * in-cluster bundle is tested on Node 22 (test/integration/k8s-bundle.test.ts; .ci/run fetches Node 22 from the npm
 * registry) as well as on the Node 20 that runs the rest of the tests. To move on: `docker buildx imagetools inspect
 * node:22-slim`, then set the new digest here and in the Dockerfile.
 */
export const DEFAULT_NODE_IMAGE = 'node:22-slim@sha256:83f487e0a63425e5b4d146fb5e5be574bcbe1b7b843d3ebafdd95eaf7767a7e5';

const kubernetesEnvSchema = z.strictObject({
  kind: z.literal('kubernetes'),
  /** kubeconfig file; default: $KUBECONFIG, then ~/.kube/config. */
  kubeconfig: z.string().min(1).optional(),
  /** kubeconfig context; default: the kubeconfig's current context. */
  context: z.string().min(1).optional(),
  /** The mesh to switch on in the meshed namespace; `none` runs the unmeshed namespace alone (a baseline). */
  mesh: z.enum(MESHES),
  /** Istio revision: the meshed namespace is labelled istio.io/rev=<rev> instead of istio-injection=enabled. */
  istioRevision: dnsLabel.optional(),
  /** An image whose entrypoint is the meshbench CLI (the repo's Dockerfile). Default: `nodeImage` + the code in a ConfigMap. */
  image: z.string().min(1).optional(),
  /**
   * The stock Node.js image that runs meshbench from a ConfigMap when `image` is not set. Default: Node 22 (Node 20
   * is past its end of life), pinned by digest so that every run pulls the same image (DEFAULT_NODE_IMAGE).
   */
  nodeImage: z.string().min(1).default(DEFAULT_NODE_IMAGE),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
  /** Sidecar proxy requests (and limits), set with the mesh's own annotations and recorded in the result. */
  sidecarResources: z.strictObject({ cpu: quantity, memory: quantity, cpuLimit: quantity.optional(), memoryLimit: quantity.optional() }).optional(),
  /**
   * Which meshed pods get a sidecar (per-pod injection annotations in the meshed namespace): both (generator and
   * echo), client-only (the generator) or server-only (the echo). Sidecar meshes only.
   */
  sidecars: sidecarPlacementSchema,
  /** Echo pods per namespace. */
  replicas: z.int().min(1).max(100).default(1),
  /** Generator pods per round (one Indexed Job); connections, rate and workers are split among them. */
  generators: z.int().min(1).max(100).default(1),
  /** Requests for the echo and generator containers (defaults in envs/kubernetes/manifests.ts POD_REQUESTS; memory limit = request; CPU limit only with cpuLimit). */
  resources: z.strictObject({ echo: podResourcesSchema.optional(), generator: podResourcesSchema.optional() }).default({}),
  /** Fleet projection: how many sidecars the fleet you plan to mesh would run (500 × 50 MB = 25 GB). */
  fleetPods: z.int().min(1).max(10_000_000).default(100),
  /** Sample the proxies' CPU and memory from metrics.k8s.io during load (needs metrics-server). */
  proxyMetrics: z.boolean().default(true),
  /** Prove that traceparent and b3 trace ids reach the echo unchanged through the meshed path. */
  traceCheck: z.boolean().default(true),
  clusterDomain: z.string().min(1).default('cluster.local'),
  /** How long pods may take to become ready (image pulls, sidecar injection) before the run fails. */
  readyTimeoutS: z.int().min(1).max(3600).default(300),
  /**
   * Bring your own namespaces (for teams granted only a namespaced Role): meshbench creates and deletes no
   * namespace, only its labelled objects inside these; the meshed one must already carry the mesh's switch.
   */
  namespaces: z.strictObject({ unmeshed: dnsLabel, meshed: dnsLabel.optional() }).optional(),
  /**
   * Where the pods run, the same for both variants so the overhead does not measure the network: spread (the
   * echo of both variants on one node, the generators on one other node), one-node (all on one node), or any
   * (no rule; placement is recorded and an asymmetric one flagged).
   */
  nodePlacement: z.enum(['spread', 'one-node', 'any']).default('spread'),
  /**
   * The pods' UID: 1000 (the `node` user of the node images and the Dockerfile), or `platform` to set none and
   * let the platform assign one from the namespace's range (OpenShift restricted-v2; needs an image whose USER is non-root).
   */
  runAsUser: z.union([z.int().min(1), z.literal('platform')]).default(1000),
  /**
   * The start barrier: seconds from the moment every generator pod of a round is Ready to their common start
   * (it must cover annotating the pods and the kubelet rewriting their downward API file). A pilot's generators
   * (Deployments, no barrier) start this long after they are created.
   */
  startLeadS: z.number().min(0).max(600).default(2),
  /** A round whose generator pods began their load more than this many ms after the published start is invalid. */
  maxStartLagMs: z.int().min(1).max(600_000).default(1000),
});

export const envSchema = z.discriminatedUnion('kind', [localEnvSchema, staticEnvSchema, kubernetesEnvSchema]);

export const scenarioSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-"'),
    description: z.string().optional(),
    env: envSchema.default({ kind: 'local', haproxy: 'haproxy', sidecarMode: 'http', plantedDelayMs: 0, hops: 1, sidecars: 'both' }),
    /**
     * How the variants are paired. time (default for local and static): both variants are driven at once by
     * one generator, requests alternating A B A B …, and judged per 1 s time block — a stall of the machine
     * hits both. rounds (kubernetes, where each variant's generator runs in its own namespace): variants take
     * turns, A B B A …, and rounds are the units.
     */
    pairing: z.enum(['time', 'rounds']).optional(),
    /**
     * Scheduling of the run's own processes (src/run/placement.ts): high (nice −20 where allowed, else the
     * highest allowed) or normal (as started). Recorded in result.json.
     */
    placement: z.enum(['high', 'normal']).default('high'),
    /** Rounds per variant (pairing rounds: variants alternate A B B A … so drift hits both equally). */
    rounds: z.int().min(1).max(10_000).default(4),
    protocols: z.array(protocolSchema).min(1),
    budgets: scenarioBudgetsSchema,
    validity: validitySchema.default({ maxErrorRate: 0.01, minAchievedRateRatio: 0.95, maxLateShare: 0.05, lateThresholdMs: 1 }),
    statistics: statisticsSchema.default({ confidence: 0.95, resamples: 2000, seed: 1, runNoiseMs: 0.05 }),
    /**
     * Set by `meshbench ab` (two URLs, no scenario file): latency budgets are optional. Without one the
     * differences are measured with their intervals but not judged, and the verdict is inconclusive.
     */
    adHoc: z.boolean().optional(),
    pilot: pilotSchema.default({ windowS: 3600, blocksPerWindow: 12 }),
    /**
     * Drive every protocol at the same time (pairing: time): one service serving HTTP and gRPC together under
     * load, each protocol still measured and judged on its own. Default: one protocol after the other.
     */
    together: z.boolean().default(false),
    /** `meshbench sweep` only: the rates to step through. */
    sweep: sweepSchema.optional(),
    /** A drill: disruptions during the load, each judged by its own budgets instead of the latency budgets. */
    events: z.array(eventSchema).max(100).default([]),
    /** With events: the length of the load's interval histograms, the resolution of each event's timeline (ms). */
    timelineMs: z.int().min(50).max(1000).default(250),
  })
  .superRefine((scenario, ctx) => {
    if (scenario.env.kind === 'kubernetes') checkKubernetesEnv(scenario.env, ctx);
    if (scenario.env.kind === 'kubernetes' && scenario.pairing === 'time') {
      ctx.addIssue({ code: 'custom', path: ['pairing'], message: 'kubernetes runs each variant\'s generators in its own namespace, so variants cannot share one generator: use pairing: rounds' });
    }
    if (scenario.events.length > 0) checkEvents(scenario, ctx);
    // A pilot's drilled windows are left out of its steady-state verdict: the other windows are judged on the latency budgets.
    if ((scenario.events.length === 0 || scenario.events.some(isPilotEvent)) && scenario.adHoc !== true) checkLatencyBudgets(scenario, ctx);
    if (scenario.events.length > 0 && !scenario.events.some(isPilotEvent) && scenario.together) {
      ctx.addIssue({ code: 'custom', path: ['together'], message: 'a drill disrupts one protocol\'s load at a time: remove together, or the events' });
    }
    if (scenario.together && (scenario.pairing === 'rounds' || (scenario.pairing === undefined && scenario.env.kind === 'kubernetes'))) {
      ctx.addIssue({ code: 'custom', path: ['together'], message: 'protocols run together only with pairing: time (local and static environments): remove together or set pairing: time' });
    }
    if (scenario.sweep !== undefined) checkSweep(scenario.sweep, scenario, ctx);
    const seen = new Set<string>();
    scenario.protocols.forEach((p, i) => {
      if (seen.has(p.name)) {
        ctx.addIssue({ code: 'custom', path: ['protocols', i, 'name'], message: `"${p.name}" appears twice; list each protocol once` });
      }
      seen.add(p.name);
      if (p.mix !== undefined && p.name !== 'http1' && p.name !== 'http2') {
        ctx.addIssue({ code: 'custom', path: ['protocols', i, 'mix'], message: `a traffic mix is for http1 and http2, not ${p.name}: remove it or use payloadBytes` });
      }
      if (p.streamsPerConnection !== undefined && p.name !== 'http2') {
        ctx.addIssue({ code: 'custom', path: ['protocols', i, 'streamsPerConnection'], message: `streams per connection are for http2, not ${p.name}` });
      }
      checkArrivals(p, i, ctx);
      checkChurn(p, i, ctx);
      if (p.workers > p.connections) {
        ctx.addIssue({ code: 'custom', path: ['protocols', i, 'workers'], message: `workers (${p.workers}) must not exceed connections (${p.connections})` });
      }
      if (scenario.env.kind === 'kubernetes' && p.connections < scenario.env.generators) {
        ctx.addIssue({ code: 'custom', path: ['protocols', i, 'connections'], message: `connections (${p.connections}) must be at least env.generators (${scenario.env.generators}): each generator pod needs one` });
      }
      if (scenario.env.kind === 'local' && scenario.env.hops > 1 && p.name !== 'http1') {
        ctx.addIssue({ code: 'custom', path: ['protocols', i, 'name'], message: `a chain of env.hops (${scenario.env.hops}) relays HTTP/1.1 only: drive "${p.name}" in a scenario with hops: 1, or remove it here` });
      }
      if (scenario.env.kind === 'static') {
        for (const variant of ['unmeshed', 'meshed'] as const) {
          if (scenario.env.variants[variant].targets[p.name] === undefined) {
            ctx.addIssue({
              code: 'custom',
              path: ['env', 'variants', variant, 'targets', p.name],
              message: `required: protocol "${p.name}" is in protocols[] but has no ${variant} target`,
            });
          }
        }
      }
    });
  })
  .transform((scenario) => ({
    ...scenario,
    pairing: scenario.pairing ?? (scenario.env.kind === 'kubernetes' ? ('rounds' as const) : ('time' as const)),
    // A round's event without a round is in round 1 (a pilot's events have a window instead).
    events: scenario.events.map((e) => (isPilotEvent(e) || e.round !== undefined ? e : { ...e, round: 1 })),
  }));

export type Pairing = 'time' | 'rounds';

/**
 * No evidence is never a pass: a scenario must set a latency budget, scenario-wide or in every protocol.
 * (The error-rate budget is on by default, so it does not count.) One issue, naming what to add.
 */
function checkLatencyBudgets(scenario: { budgets: Budgets; protocols: { name: string; budgets?: Budgets | undefined }[] }, ctx: z.core.$RefinementCtx): void {
  const has = (b: Budgets | undefined) => b !== undefined && LATENCY_BUDGETS.some((k) => b[k] !== undefined);
  if (has(scenario.budgets)) return;
  const without = scenario.protocols.filter((p) => !has(p.budgets)).map((p) => p.name);
  if (without.length === 0) return;
  const which = without.length === scenario.protocols.length ? '' : ` (protocols without one: ${without.join(', ')})`;
  ctx.addIssue({
    code: 'custom',
    path: ['budgets'],
    message: `no latency budget: add at least one of ${LATENCY_BUDGETS.join(', ')} here (e.g. budgets: { p99OverheadMs: 3 }) or in every protocol's budgets${which}; without one a run has nothing to pass on`,
  });
}

function checkArrivals(p: { model: string; arrivals: ArrivalsConfig }, i: number, ctx: z.core.$RefinementCtx): void {
  const { arrivals } = p;
  if (arrivals.kind !== 'constant' && p.model !== 'open') {
    ctx.addIssue({ code: 'custom', path: ['protocols', i, 'arrivals', 'kind'], message: `"${arrivals.kind}" arrivals are an open-loop schedule: set model: open, or remove arrivals` });
  }
  if (arrivals.kind === 'stages' && Math.max(arrivals.startRateHz, ...arrivals.stages.map((s) => s.targetRateHz)) <= 0) {
    ctx.addIssue({ code: 'custom', path: ['protocols', i, 'arrivals', 'stages'], message: 'every rate is 0: give at least one stage a targetRateHz above 0' });
  }
}

function checkSweep(sweep: z.infer<typeof sweepSchema>, scenario: { budgets: Budgets; protocols: ProtocolConfig[] }, ctx: z.core.$RefinementCtx): void {
  if ((sweep.stepRateHz === undefined) === (sweep.stepFactor === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['sweep'], message: 'give exactly one of stepRateHz (add this much per step) or stepFactor (multiply by this per step)' });
  }
  if (sweep.maxRateHz < sweep.startRateHz) {
    ctx.addIssue({ code: 'custom', path: ['sweep', 'maxRateHz'], message: `must be at least startRateHz (${sweep.startRateHz})` });
  }
  if (sweep.p99Ms === undefined && scenario.budgets.p99Ms === undefined) {
    ctx.addIssue({ code: 'custom', path: ['sweep', 'p99Ms'], message: 'a sweep needs the P99 budget each step holds to: set sweep.p99Ms or budgets.p99Ms' });
  }
  scenario.protocols.forEach((p, i) => {
    if (p.model !== 'open') ctx.addIssue({ code: 'custom', path: ['protocols', i, 'model'], message: 'a sweep steps the open-loop rate: set model: open' });
    if (p.arrivals.kind === 'stages') ctx.addIssue({ code: 'custom', path: ['protocols', i, 'arrivals', 'kind'], message: 'a sweep sets the rate of each step: use constant or poisson arrivals' });
  });
}

function checkChurn(p: ProtocolConfig, i: number, ctx: z.core.$RefinementCtx): void {
  if (p.churn === undefined) return;
  const path = ['protocols', i, 'churn'];
  if (p.name !== 'http1') ctx.addIssue({ code: 'custom', path, message: `connection churn is built for http1 (a connection per request stream); remove it from ${p.name}` });
  if ((p.churn.everyRequests === undefined) === (p.churn.rateHz === undefined)) {
    ctx.addIssue({ code: 'custom', path, message: 'give exactly one of everyRequests (a new connection every N requests on each connection) or rateHz (new connections per second)' });
  }
}

/** The event happens in a pilot's window (`window` or `every` given), not in a round of `meshbench run`. */
export function isPilotEvent(e: { window?: number | undefined; every?: number | undefined }): boolean {
  return e.window !== undefined || e.every !== undefined;
}

/**
 * What each env can do to its pair, and a drill's events: all inside rounds (`meshbench run`; judged by the events'
 * budgets alone) or all inside a pilot's windows (`meshbench pilot`; the windows without an event judged as usual).
 */
function checkEvents(
  scenario: { env: EnvConfig; rounds: number; budgets: Budgets; pilot: { windowS: number }; protocols: { durationS: number; budgets?: Budgets | undefined }[]; events: DrillEvent[] },
  ctx: z.core.$RefinementCtx,
): void {
  const inPilot = scenario.events.some(isPilotEvent);
  const latency = [scenario.budgets, ...scenario.protocols.map((p) => p.budgets)].some((b) => b !== undefined && LATENCY_BUDGETS.some((k) => b[k] !== undefined));
  if (latency && !inPilot) {
    ctx.addIssue({ code: 'custom', path: ['budgets'], message: 'a drill (a scenario with events) is judged by its events\' budgets (maxErrors, recoveryS); measure the steady-state overhead with a scenario without events and remove the latency budgets here' });
  }
  const shortest = Math.min(...scenario.protocols.map((p) => p.durationS));
  scenario.events.forEach((e, i) => {
    if (scenario.env.kind === 'static') ctx.addIssue({ code: 'custom', path: ['events', i, 'action'], message: 'a static pair is not meshbench\'s to disrupt: drills need env.kind local or kubernetes' });
    if (scenario.env.kind === 'kubernetes' && e.action !== 'restart-sidecars') {
      ctx.addIssue({ code: 'custom', path: ['events', i, 'action'], message: `"${e.action}" runs in the local environment only; on kubernetes a drill can restart-sidecars (a rollout restart of the meshed echo)` });
    }
    if (scenario.env.kind === 'local' && (scenario.env.hops > 1 || scenario.env.sidecars !== 'both')) {
      ctx.addIssue({ code: 'custom', path: ['events', i, 'action'], message: 'drills disrupt one sidecar pair: remove env.hops and env.sidecars (a chain or a one-sided placement), or the events' });
    }
    if (scenario.env.kind === 'local' && e.action === 'kill-echo' && scenario.env.plantedDelayMs > 0) {
      ctx.addIssue({ code: 'custom', path: ['events', i, 'action'], message: 'kill-echo restarts a replica on its ports, which a planted delay (env.plantedDelayMs) picks anew: remove one of them' });
    }
    if (inPilot) {
      if (!isPilotEvent(e)) {
        ctx.addIssue({ code: 'custom', path: ['events', i], message: 'other events name a pilot window: give this one a window (and atS into it) too — a scenario\'s events are all for `meshbench pilot` (window) or all for `meshbench run` (round)' });
      } else if (e.round !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['events', i, 'round'], message: 'give a round (meshbench run) or a window (meshbench pilot), not both: remove round' });
      }
      if (e.atS >= scenario.pilot.windowS) ctx.addIssue({ code: 'custom', path: ['events', i, 'atS'], message: `atS ${e.atS} must fall inside the window: below pilot.windowS (${scenario.pilot.windowS})` });
      return;
    }
    if ((e.round ?? 1) > scenario.rounds) ctx.addIssue({ code: 'custom', path: ['events', i, 'round'], message: `round ${e.round ?? 1} is past the last round (rounds: ${scenario.rounds})` });
    if (e.atS >= shortest) ctx.addIssue({ code: 'custom', path: ['events', i, 'atS'], message: `atS ${e.atS} must fall inside the round: below the shortest protocol's durationS (${shortest})` });
  });
}

function checkKubernetesEnv(env: z.infer<typeof kubernetesEnvSchema>, ctx: z.core.$RefinementCtx): void {
  if (env.mesh === 'istio-ambient' && env.sidecarResources !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['env', 'sidecarResources'], message: 'istio-ambient runs no sidecars (ztunnel is per node): remove sidecarResources' });
  }
  if (env.mesh === 'none' && env.sidecarResources !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['env', 'sidecarResources'], message: 'mesh "none" runs no sidecars: remove sidecarResources' });
  }
  if (env.sidecars !== 'both' && (env.mesh === 'istio-ambient' || env.mesh === 'none')) {
    ctx.addIssue({ code: 'custom', path: ['env', 'sidecars'], message: `"${env.sidecars}" places sidecars per pod, and mesh "${env.mesh}" runs none: use istio-sidecar or linkerd, or sidecars: both` });
  }
  if (env.namespaces !== undefined && (env.namespaces.meshed === undefined) !== (env.mesh === 'none')) {
    ctx.addIssue({ code: 'custom', path: ['env', 'namespaces', 'meshed'], message: env.mesh === 'none' ? 'mesh "none" runs the unmeshed namespace alone: remove namespaces.meshed' : 'required with a mesh: the namespace where the mesh is switched on' });
  }
  if (env.namespaces !== undefined && env.namespaces.meshed === env.namespaces.unmeshed) {
    ctx.addIssue({ code: 'custom', path: ['env', 'namespaces'], message: 'the variants need two different namespaces' });
  }
  if (env.istioRevision !== undefined && env.mesh !== 'istio-sidecar' && env.mesh !== 'istio-ambient') {
    ctx.addIssue({ code: 'custom', path: ['env', 'istioRevision'], message: `only for the Istio meshes, not "${env.mesh}"` });
  }
}

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ProtocolConfig = Scenario['protocols'][number];
export type Budgets = z.infer<typeof budgetsSchema>;
export type Validity = Scenario['validity'];
export type StatisticsConfig = Scenario['statistics'];
export type EnvConfig = Scenario['env'];
export type LocalEnvConfig = z.infer<typeof localEnvSchema>;
export type StaticEnvConfig = z.infer<typeof staticEnvSchema>;
export type KubernetesEnvConfig = z.infer<typeof kubernetesEnvSchema>;
export type Mesh = (typeof MESHES)[number];
export type DrillEvent = z.infer<typeof eventSchema>;
export type EventBudgets = z.infer<typeof eventBudgetsSchema>;
