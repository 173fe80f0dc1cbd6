// The part of jstat (no bundled types) that meshbench uses.
declare module 'jstat' {
  interface Distribution {
    /** Quantile function (inverse CDF). */
    inv(p: number, ...parameters: number[]): number;
    cdf(x: number, ...parameters: number[]): number;
  }
  const jstat: { jStat: { studentt: Distribution; normal: Distribution } };
  export default jstat;
}
