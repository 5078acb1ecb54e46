// The likelihood fits evaluate thousands of times over the same data: terms that depend on one
// column alone are worked out once per distinct value of that column instead of once per row.

/** The distinct values of `values` (first-seen order), and each value's place among them. */
export function distinct(values: ArrayLike<number>): { values: Float64Array; index: Int32Array } {
  const unique = [...new Set(Array.from(values))];
  const place = new Map(unique.map((v, k) => [v, k]));
  return { values: Float64Array.from(unique), index: Int32Array.from(values, (v) => place.get(v)!) };
}
