/**
 * The Pod Security Standards "restricted" profile (which includes "baseline"), as the PodSecurity admission
 * controller checks a pod spec (kubernetes.io/docs/concepts/security/pod-security-standards, policy version
 * latest). Used by the manifest tests on every rendered pod spec and by the API stand-in, which admits pods into
 * a namespace labelled pod-security.kubernetes.io/enforce=restricted only when this finds nothing.
 */

interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  procMount?: string;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
  seLinuxOptions?: { type?: string; user?: string; role?: string };
  windowsOptions?: { hostProcess?: boolean };
}
interface Container {
  name: string;
  securityContext?: SecurityContext;
  ports?: { hostPort?: number }[];
}
export interface PodSpecLike {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext & { sysctls?: { name: string }[] };
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: Record<string, unknown>[];
}

const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SAFE_SYSCTLS = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

/** Every violation of the restricted profile, one line each; [] when the pod would be admitted. */
export function restrictedViolations(spec: PodSpecLike): string[] {
  const out: string[] = [];
  const pod = spec.securityContext ?? {};
  if (spec.hostNetwork === true || spec.hostPID === true || spec.hostIPC === true) out.push('host namespaces');
  for (const s of pod.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) out.push(`unsafe sysctl ${s.name}`);
  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (type === undefined || !RESTRICTED_VOLUMES.has(type)) out.push(`volume ${String(v['name'])} of type ${type ?? '?'}`);
  }
  if (pod.runAsUser === 0) out.push('pod runAsUser=0');
  const podSeccomp = pod.seccompProfile?.type;
  if (podSeccomp === 'Unconfined') out.push('pod seccompProfile Unconfined');
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const at = `container ${c.name}`;
    if (sc.privileged === true) out.push(`${at}: privileged`);
    if (sc.windowsOptions?.hostProcess === true || pod.windowsOptions?.hostProcess === true) out.push(`${at}: hostProcess`);
    if ((c.ports ?? []).some((p) => (p.hostPort ?? 0) !== 0)) out.push(`${at}: hostPort`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') out.push(`${at}: procMount ${sc.procMount}`);
    for (const se of [sc.seLinuxOptions, pod.seLinuxOptions]) {
      if (se !== undefined && (!SELINUX_TYPES.has(se.type ?? '') || se.user !== undefined || se.role !== undefined)) out.push(`${at}: seLinuxOptions`);
    }
    if (sc.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation != false`);
    if (sc.runAsNonRoot !== true && !(pod.runAsNonRoot === true && sc.runAsNonRoot === undefined)) out.push(`${at}: runAsNonRoot != true`);
    if (sc.runAsUser === 0) out.push(`${at}: runAsUser=0`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${at}: seccompProfile must be RuntimeDefault or Localhost`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${at}: capabilities must drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') out.push(`${at}: adds capability ${cap}`);
  }
  return out;
}
