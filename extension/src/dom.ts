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

/** A long id shown as `shown`; the full id on hover, and copied whole on click or on copy. */
export function idNode(full: string, shown: string): HTMLElement {
  const node = el('code', { className: 'jp-nb2prod-id', title: `${full} (click to copy)`, dataset: { full } }, shown);
  node.oncopy = (event: ClipboardEvent) => {
    event.clipboardData?.setData('text/plain', full);
    event.preventDefault();
  };
  node.onclick = () => void navigator.clipboard?.writeText(full).catch(() => undefined);
  return node;
}
