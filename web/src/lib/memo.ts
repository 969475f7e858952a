import { Component, type ComponentType, h } from 'preact';

/**
 * Draws `view` again only when `same` says its props changed — what
 * `preact/compat`'s `memo` does, without the rest of compat in the phone's
 * download.
 */
export function memo<P extends object>(
  view: ComponentType<P>,
  same: (previous: P, next: P) => boolean,
): ComponentType<P> {
  class Memo extends Component<P> {
    override shouldComponentUpdate(next: P): boolean {
      return !same(this.props, next);
    }

    override render(props: P) {
      return h(view, props);
    }
  }
  return Memo as ComponentType<P>;
}
