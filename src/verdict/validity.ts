import type { ProtocolConfig, Scenario } from '../config/schema.js';
import type { ProtocolResult, ValidityProblem } from '../result.js';

/**
 * A run is invalid — and its verdict can only be inconclusive — when the figures cannot be trusted:
 * too many errors, the target (or generator) could not sustain the intended rate, or the generator sent
 * too many requests late, or (kubernetes) its generator pods did not start together. Judged per round, so one bad
 * round cannot hide inside a good average.
 */
export function validityProblems(protocol: ProtocolResult, config: ProtocolConfig, scenario: Pick<Scenario, 'validity' | 'env'>): ValidityProblem[] {
  const { validity } = scenario;
  const maxStartLagMs = scenario.env.kind === 'kubernetes' ? scenario.env.maxStartLagMs : undefined;
  const problems: ValidityProblem[] = [];
  for (const [variant, result] of Object.entries(protocol.variants)) {
    if (result.count === 0) {
      problems.push({ protocol: protocol.name, variant, round: null, rule: 'noSamples', detail: `${protocol.name}/${variant}: no successful response was recorded` });
      continue;
    }
    for (const round of result.rounds) {
      const where = `${protocol.name}/${variant} round ${round.round + 1}`;
      const total = round.count + round.errors;
      const errorRate = total === 0 ? 1 : round.errors / total;
      if (total === 0) {
        // Nothing completed, nothing failed: every connection hung on a target that stopped answering. Not "0 errors".
        problems.push({
          protocol: protocol.name, variant, round: round.round, rule: 'maxErrorRate',
          detail: `${where}: no request completed or failed — the target stopped answering (every connection hung)`,
        });
      } else if (errorRate > validity.maxErrorRate) {
        problems.push({
          protocol: protocol.name, variant, round: round.round, rule: 'maxErrorRate',
          detail: `${where}: ${pct(errorRate)} of requests failed (${round.errors}/${total}); allowed ${pct(validity.maxErrorRate)}`,
        });
      }
      const startLagMs = Math.max(...(round.generatorStartLagsMs ?? [0]));
      if (maxStartLagMs !== undefined && startLagMs > maxStartLagMs) {
        const late = (round.generatorStartLagsMs ?? []).flatMap((lagMs, i) => (lagMs > maxStartLagMs ? [`generator ${i} ${lagMs} ms`] : []));
        problems.push({
          protocol: protocol.name, variant, round: round.round, rule: 'maxStartLag',
          detail: `${where}: the generator pods did not start together — ${late.join(', ')} after the published start; allowed ${maxStartLagMs} ms (env.maxStartLagMs). Raise env.startLeadS if the pods learn the start late (README "Start barrier")`,
        });
      }
      if (config.model === 'open') {
        const intended = (config.arrivals?.kind ?? 'constant') === 'constant' ? config.rateHz : (round.intendedRateHz ?? config.rateHz);
        const ratio = intended > 0 ? round.achievedRateHz / intended : 1;
        if (ratio < validity.minAchievedRateRatio) {
          problems.push({
            protocol: protocol.name, variant, round: round.round, rule: 'minAchievedRateRatio',
            detail: `${where}: achieved ${round.achievedRateHz.toFixed(0)} req/s of ${intended.toFixed(0)} intended (${pct(ratio)}); needs ≥ ${pct(validity.minAchievedRateRatio)}`,
          });
        }
        if (round.lateShare > validity.maxLateShare) {
          problems.push({
            protocol: protocol.name, variant, round: round.round, rule: 'maxLateShare',
            detail: `${where}: the generator fell behind — ${pct(round.lateShare)} of requests left more than ${validity.lateThresholdMs} ms after their intended time (max lag ${(round.maxLagUs / 1000).toFixed(1)} ms); allowed ${pct(validity.maxLateShare)}. Lower the rate, add workers or connections`,
          });
        }
      }
    }
  }
  return problems;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(x < 0.1 ? 2 : 1)} %`;
}
