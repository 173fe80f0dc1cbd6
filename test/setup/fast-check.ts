import fc from 'fast-check';

// Properties run on a fixed seed in `npm test`, so a CI run is repeatable: a counterexample found once is found
// again on the next run and on the developer's machine. FC_SEED=<n> explores other cases (FC_SEED=random: a new
// seed each run, printed with any failure by fast-check).
const raw = process.env['FC_SEED'];
if (raw !== 'random') fc.configureGlobal({ seed: raw === undefined ? 20_261_201 : Number(raw) });
