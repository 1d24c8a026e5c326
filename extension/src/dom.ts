/** A tiny DOM builder for the panels (no framework). */

type Props = Partial<Omit<HTMLElement, 'dataset' | 'style'>> & { dataset?: Record<string, string>; [key: string]: unknown };

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(node, rest);
  for (const [key, value] of Object.entries(dataset ?? {})) {
    node.dataset[key] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child);
    }
  }
  return node;
}
