import type { Scenario } from '../config/schema.js';
import { comparisonReasons, verdictReasons } from '../report/wording.js';
import type { ComparisonDocument, CompareOptions } from '../verdict/compare.js';
import { compareResults } from '../verdict/compare.js';
import { judge, type JudgeOptions } from '../verdict/index.js';
import type { ProtocolResult, ResultDocument, Verdict } from '../result.js';

/** A run's verdict as result.json holds it: what verdict/ decided, with the reasons report/wording.ts words. */
export function judgeRun(scenario: Scenario, protocols: ProtocolResult[], options: JudgeOptions = {}): Verdict {
  const j = judge(scenario, protocols, options);
  const { status, checks, validity, statistics, drills } = j.verdict;
  const verdict: Verdict = { status, reasons: verdictReasons(j), checks, validity };
  if (statistics !== undefined) verdict.statistics = statistics;
  if (drills !== undefined) verdict.drills = drills;
  return verdict;
}

/** comparison.json: what verdict/compare.ts decided, with the reasons report/wording.ts words. */
export function compareRuns(baseline: ResultDocument, candidate: ResultDocument, options: CompareOptions): ComparisonDocument {
  const decision = compareResults(baseline, candidate, options);
  const { status, invalid: _invalid, ...doc } = decision;
  return { ...doc, verdict: { status, reasons: comparisonReasons(decision) } };
}
