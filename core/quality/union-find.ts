/** Disjoint sets over 0..n−1 with path halving and union by size: near-linear time to join every pair found. */
export class UnionFind {
  private readonly parent: Int32Array;
  private readonly size: Int32Array;

  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
    this.size = new Int32Array(n).fill(1);
  }

  find(i: number): number {
    let x = i;
    while (this.parent[x] !== x) {
      this.parent[x] = this.parent[this.parent[x]!]!;
      x = this.parent[x]!;
    }
    return x;
  }

  union(a: number, b: number): void {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    if (this.size[ra]! < this.size[rb]!) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra]! += this.size[rb]!;
  }

  /** Group id per element: the index of the group's first element, so ids are stable and readable. */
  groupIds(): Int32Array {
    const firstOfRoot = new Map<number, number>();
    const ids = new Int32Array(this.parent.length);
    for (let i = 0; i < ids.length; i++) {
      const root = this.find(i);
      if (!firstOfRoot.has(root)) firstOfRoot.set(root, i);
      ids[i] = firstOfRoot.get(root)!;
    }
    return ids;
  }

  /** Groups of two or more elements, each in increasing order, ordered by their first element. */
  groups(): number[][] {
    const byId = new Map<number, number[]>();
    this.groupIds().forEach((id, i) => byId.set(id, [...(byId.get(id) ?? []), i]));
    return [...byId.values()].filter((g) => g.length > 1);
  }
}
