import { describe, expect, it } from "vitest";
import { auc, seededRandom } from "./evaluation";
import { gbtContributions, gbtScore, predictGbt, trainGbt, type GbtModel, type GbtTree } from "./gbt";
import { predictLogistic, trainLogistic } from "./logistic";

/** y = XOR(x0 > 0, x1 > 0) with label noise; x2 is pure noise. */
function xor(n: number, seed: number): { X: number[][]; y: number[] } {
  const random = seededRandom(seed);
  const X: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = random() * 2 - 1;
    const b = random() * 2 - 1;
    const label = a > 0 !== b > 0 ? 1 : 0;
    X.push([a, b, random()]);
    y.push(random() < 0.05 ? 1 - label : label);
  }
  return { X, y };
}

describe("gradient-boosted trees", () => {
  it("fits XOR, which a linear model cannot", () => {
    const train = xor(2000, 1);
    const test = xor(1000, 2);
    const trees = trainGbt(train.X, train.y, { seed: 3 });
    const linear = trainLogistic(train.X, train.y);
    const treeAuc = auc(predictGbt(trees, test.X), test.y);
    const linearAuc = auc(predictLogistic(linear, test.X), test.y);
    expect(treeAuc).toBeGreaterThan(0.9);
    expect(linearAuc).toBeLessThan(0.6);
  });

  it("lowers the training loss with every tree when every row is used", () => {
    const { X, y } = xor(800, 4);
    const model = trainGbt(X, y, { subsample: 1, validationShare: 0, maxTrees: 60 });
    expect(model.trees).toHaveLength(60);
    for (let t = 1; t < model.trainLoss.length; t++) expect(model.trainLoss[t]).toBeLessThan(model.trainLoss[t - 1]!);
  });

  it("is deterministic for a seed and differs across seeds", () => {
    const { X, y } = xor(600, 5);
    const a = trainGbt(X, y, { seed: 9, maxTrees: 30 });
    const b = trainGbt(X, y, { seed: 9, maxTrees: 30 });
    const c = trainGbt(X, y, { seed: 10, maxTrees: 30 });
    expect(JSON.stringify({ ...a, trainingMs: 0 })).toBe(JSON.stringify({ ...b, trainingMs: 0 }));
    expect(JSON.stringify(c.trees)).not.toBe(JSON.stringify(a.trees));
  });

  it("stops early on the validation split and keeps the best prefix", () => {
    const { X, y } = xor(1500, 6);
    const model = trainGbt(X, y, { maxTrees: 2000, learningRate: 0.3, earlyStoppingRounds: 10 });
    expect(model.trees.length).toBeLessThan(2000);
    const best = Math.min(...model.validLoss);
    expect(model.validLoss[model.trees.length - 1]).toBe(best);
    expect(model.validLoss.length - model.trees.length).toBe(10);
  });

  it("honours the depth, leaf and minimum-rows limits", () => {
    const { X, y } = xor(1000, 7);
    const stumps = trainGbt(X, y, { maxDepth: 1, maxTrees: 20, validationShare: 0 });
    for (const tree of stumps.trees) expect(tree.feature.filter((f) => f >= 0)).toHaveLength(1);
    const small = trainGbt(X, y, { maxDepth: 6, maxLeaves: 4, minSamplesLeaf: 100, maxTrees: 20, validationShare: 0 });
    for (const tree of small.trees) {
      const leaves = tree.feature.map((f, node) => (f < 0 ? node : -1)).filter((node) => node >= 0);
      expect(leaves.length).toBeLessThanOrEqual(4);
      for (const leaf of leaves) expect(tree.count[leaf]).toBeGreaterThanOrEqual(100);
    }
  });

  it("splits each row's log-odds exactly into a bias and per-feature contributions", () => {
    const { X, y } = xor(1000, 8);
    const model = trainGbt(X, y, { seed: 1 });
    const out = new Float64Array(3);
    for (const row of X.slice(0, 50)) {
      const bias = gbtContributions(model, row, out);
      expect(bias + out[0]! + out[1]! + out[2]!).toBeCloseTo(gbtScore(model, row), 10);
    }
    // The noise column explains far less than the two XOR inputs.
    let noise = 0;
    let signal = 0;
    for (const row of X) {
      gbtContributions(model, row, out);
      signal += Math.abs(out[0]!) + Math.abs(out[1]!);
      noise += Math.abs(out[2]!);
    }
    expect(noise).toBeLessThan(signal / 5);
  });

  it("survives a JSON round trip and rejects one-class labels", () => {
    const { X, y } = xor(500, 9);
    const model = trainGbt(X, y, { maxTrees: 20 });
    const copy = JSON.parse(JSON.stringify(model)) as typeof model;
    expect(predictGbt(copy, X.slice(0, 20))).toEqual(predictGbt(model, X.slice(0, 20)));
    expect(() =>
      trainGbt(
        X,
        y.map(() => 1),
      ),
    ).toThrow(/one class/);
  });

  it("scores from its flattened trees exactly as a walk of the stored trees does", () => {
    const { X, y } = xor(800, 12);
    const model = JSON.parse(JSON.stringify(trainGbt(X, y, { seed: 4, maxTrees: 60 }))) as ReturnType<typeof trainGbt>;
    // The reference: each stored tree walked node by node from its JSON arrays.
    const walk = (row: number[]) =>
      model.trees.reduce((z, tree) => {
        let node = 0;
        while (tree.feature[node]! >= 0)
          node = row[tree.feature[node]!]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
        return z + tree.value[node]!;
      }, model.baseScore);
    const out = new Float64Array(3);
    for (const row of X.slice(0, 200)) {
      expect(gbtScore(model, row)).toBe(walk(row));
      // One buffer reused row after row: stale contributions never leak into the next row.
      const bias = gbtContributions(model, row, out);
      expect(bias + out[0]! + out[1]! + out[2]!).toBeCloseTo(walk(row), 10);
    }
  });

  it("scores and splits a row exactly as the node-by-node walk does, on random trees of any shape and depth", () => {
    const random = seededRandom(21);
    const features = 5;
    // Few distinct numbers, so rows often equal a threshold (equal goes left); some values missing.
    const grid = [-2, -1, -0.5, 0, 0.25, 1, 3];
    const pick = () => grid[Math.floor(random() * grid.length)]!;
    const randomTree = (maxDepth: number): GbtTree => {
      const tree: GbtTree = { feature: [], threshold: [], left: [], right: [], value: [], count: [] };
      // Depth first (a right child is not always next to its left one), leaves at uneven depths.
      const grow = (depth: number): number => {
        const node = tree.feature.length;
        tree.feature.push(-1);
        tree.threshold.push(0);
        tree.left.push(-1);
        tree.right.push(-1);
        tree.value.push(random() * 2 - 1);
        tree.count.push(1);
        if (depth < maxDepth && (depth === 0 || random() < 0.7)) {
          tree.feature[node] = Math.floor(random() * features);
          tree.threshold[node] = pick();
          tree.left[node] = grow(depth + 1);
          tree.right[node] = grow(depth + 1);
        }
        return node;
      };
      grow(0);
      return tree;
    };
    const randomModel = (trees: number, maxDepth: number): GbtModel => ({
      kind: "gbt",
      baseScore: random() - 0.5,
      learningRate: 0.1,
      trees: Array.from({ length: trees }, () => randomTree(maxDepth)),
      trainLoss: [],
      validLoss: [],
      trainingMs: 0,
    });
    const trained = xor(600, 13);
    const models = [
      ...[1, 2, 3, 4, 6].map((depth) => randomModel(40, depth)),
      randomModel(5, 13), // deeper than scoring pads: walked node by node
      randomModel(0, 3),
      trainGbt(trained.X, trained.y, { seed: 5, maxTrees: 50 }),
      trainGbt(trained.X, trained.y, { seed: 6, maxDepth: 6, maxLeaves: 10, maxTrees: 30 }),
    ];
    // The path (Saabas) method as it was first written: each stored tree walked from its JSON arrays.
    const reference = (model: GbtModel, row: readonly number[]) => {
      const out = new Array<number>(features).fill(0);
      let bias = model.baseScore;
      let score = model.baseScore;
      for (const tree of model.trees) {
        bias += tree.value[0]!;
        let node = 0;
        while (tree.feature[node]! >= 0) {
          const f = tree.feature[node]!;
          const next = row[f]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
          out[f]! += tree.value[next]! - tree.value[node]!;
          node = next;
        }
        score += tree.value[node]!;
      }
      return { bias, out, score };
    };
    const out = new Float64Array(features);
    let compared = 0;
    for (const model of models)
      for (let r = 0; r < 300; r++) {
        const row = Array.from({ length: features }, () => (random() < 0.1 ? Number.NaN : pick()));
        const expected = reference(model, row);
        const bias = gbtContributions(model, row, out);
        expect(Object.is(bias, expected.bias)).toBe(true);
        for (let j = 0; j < features; j++) expect(Object.is(out[j], expected.out[j])).toBe(true);
        expect(Object.is(gbtScore(model, row), expected.score)).toBe(true);
        // The same through a plain array and a typed row.
        const plain = new Array<number>(features).fill(7);
        gbtContributions(model, Float64Array.from(row), plain);
        expect(plain).toEqual(expected.out);
        compared++;
      }
    expect(compared).toBe(models.length * 300);
  });
});
