import type { V1ClusterRole, V1PolicyRule, V1Role } from '@kubernetes/client-node';

/**
 * The rights a run needs, in one place: `k8s render` writes them as rbac.yaml (a ClusterRole, or with
 * env.namespaces a Role per namespace), the client's 403 error lists them, README shows them, and the stand-in
 * test checks that every call a run makes is granted by them.
 */

/** What a run does inside its namespaces (a namespaced Role grants exactly this). */
export const NAMESPACED_RULES: readonly V1PolicyRule[] = [
  { apiGroups: [''], resources: ['configmaps', 'services'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  // patch: the start barrier writes a round's start time into its generator pods' annotations
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: ['metrics.k8s.io'], resources: ['pods'], verbs: ['get', 'list'] },
];

/** Cluster-wide: creating and deleting its own namespaces, plus the namespaced rights (ambient's ztunnels live in Istio's namespace). */
export const CLUSTER_RULES: readonly V1PolicyRule[] = [{ apiGroups: [''], resources: ['namespaces'], verbs: ['create', 'list', 'delete'] }, ...NAMESPACED_RULES];

const RBAC_API = 'rbac.authorization.k8s.io/v1';
const copy = (rules: readonly V1PolicyRule[]): V1PolicyRule[] => rules.map((r) => ({ ...r, apiGroups: [...(r.apiGroups ?? [])], resources: [...(r.resources ?? [])], verbs: [...r.verbs] }));

export function renderClusterRole(): V1ClusterRole {
  return { apiVersion: RBAC_API, kind: 'ClusterRole', metadata: { name: 'meshbench' }, rules: copy(CLUSTER_RULES) };
}

export function renderRole(namespace: string): V1Role {
  return { apiVersion: RBAC_API, kind: 'Role', metadata: { name: 'meshbench', namespace }, rules: copy(NAMESPACED_RULES) };
}

/** The rights in words, for the error a refused call gets ("get, list, watch and patch pods; …"). */
export function rightsInWords(): string {
  const words = (verbs: readonly string[]): string => (verbs.length > 1 ? `${verbs.slice(0, -1).join(', ')} and ${verbs[verbs.length - 1] ?? ''}` : (verbs[0] ?? ''));
  return CLUSTER_RULES.map((r) => `${words(r.verbs)} ${(r.apiGroups ?? []).filter((g) => g !== '').map((g) => `${g} `).join('')}${(r.resources ?? []).join(', ')}`).join('; ');
}
