import type { DrillEvent } from '../config/schema.js';
import { BASELINE_VARIANT } from '../protocols.js';
import type { DrillCheck, DrillResult } from '../result.js';

/**
 * A drill's checks: per event occurrence and non-baseline variant (the baseline ran through the same event as
 * the control; its figures are shown beside, not judged), first that the event happened at all, then each
 * budget the event sets:
 * - maxErrors: the variant's failures in the event's window, pass when ≤ the budget;
 * - recoveryS: pass when the p99 recovered within the budget; fail when it had not although the window was
 *   at least that long; inconclusive when the window ended first (the next event, or the load's end, came too soon),
 *   or when the unmeshed control, driven through the same seconds, had not recovered within the budget either
 *   (what kept both p99s up was the machine, not the mesh).
 * Counts, not estimates: the figures are what this run saw, so there is no interval to decide on.
 */
export function drillChecks(events: readonly DrillEvent[], drills: readonly DrillResult[]): DrillCheck[] {
  const checks: DrillCheck[] = [];
  for (const d of drills) {
    const event = events[d.event];
    if (event === undefined) continue;
    const judged = Object.keys(d.variants).filter((v) => v !== BASELINE_VARIANT);
    // A load of the baseline alone (rounds pairing) is the control's occurrence: judged only when it failed to happen.
    if (judged.length === 0 && (d.error !== undefined || Object.keys(d.variants).length === 0)) {
      checks.push({ event: d.event, action: d.action, protocol: d.protocol, round: d.round, ...where(d), variant: Object.keys(d.variants)[0] ?? '(none)', budget: 'happened', limit: null, actual: null, status: 'inconclusive' });
    }
    for (const variant of judged) {
      const v = d.variants[variant];
      const at = { event: d.event, action: d.action, protocol: d.protocol, round: d.round, ...where(d), variant };
      if (d.error !== undefined || v === undefined) {
        checks.push({ ...at, budget: 'happened', limit: null, actual: null, status: 'inconclusive' });
        continue;
      }
      const { maxErrors, recoveryS } = event.budgets;
      if (maxErrors !== undefined) checks.push({ ...at, budget: 'maxErrors', limit: maxErrors, actual: v.errors, status: v.errors <= maxErrors ? 'pass' : 'fail' });
      if (recoveryS !== undefined) {
        const late = (r: number | null): boolean => r === null || r > recoveryS;
        let status: DrillCheck['status'] = v.recoveryS !== null ? (v.recoveryS <= recoveryS ? 'pass' : 'fail') : d.windowS >= recoveryS ? 'fail' : 'inconclusive';
        // The control ran through the same seconds: when it was as late, the machine kept the p99 up, not the mesh.
        const control = d.variants[BASELINE_VARIANT];
        if (status === 'fail' && control !== undefined && late(control.recoveryS)) status = 'inconclusive';
        checks.push({ ...at, budget: 'recoveryS', limit: recoveryS, actual: v.recoveryS, status, ...(control === undefined ? {} : { controlRecoveryS: control.recoveryS }) });
      }
    }
  }
  return checks;
}

const where = (d: DrillResult): { window?: number } => (d.window === undefined ? {} : { window: d.window });
