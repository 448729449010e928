/**
 * Whether a tree of nodes stays within a size: how deep it goes, how many
 * nodes it has and how many characters of text and attribute values it
 * carries. The walk is iterative and stops at the first bound it
 * crosses, so asking costs at most `maxNodes` steps whatever the tree —
 * which may be a peer's, nested thousands of levels deep.
 */
import type { Node } from "./element.ts";

export interface TreeLimits {
  /** Levels of elements below the given nodes' parent (a direct child is level 1). */
  maxDepth: number;
  /** Elements and text nodes, counted together. */
  maxNodes: number;
  /** Characters of text, attribute names and values, and element names. */
  maxChars: number;
}

export function withinLimits(nodes: readonly Node[], limits: TreeLimits): boolean {
  let count = 0;
  let chars = 0;
  // Pending lists of siblings, each with the depth of its members.
  const lists: (readonly Node[])[] = [nodes];
  const depths: number[] = [1];
  while (lists.length !== 0) {
    const list = lists.pop()!;
    const depth = depths.pop()!;
    count += list.length;
    if (count > limits.maxNodes) return false;
    for (let i = 0; i < list.length; i++) {
      const c = list[i];
      if (typeof c === "string") {
        chars += c.length;
      } else {
        if (depth > limits.maxDepth) return false;
        chars += c.name.length;
        for (const k in c.attrs) chars += k.length + c.attrs[k].length;
        if (c.children.length !== 0) {
          lists.push(c.children);
          depths.push(depth + 1);
        }
      }
      if (chars > limits.maxChars) return false;
    }
  }
  return true;
}
