import { Link } from '../components/Link.tsx';

/**
 * A mistyped or outdated address (an old bookmark, a link cut short in an e-mail): say so in
 * words and offer the way back, rather than a dead end. The server answers such a path with
 * this page and status 404 (src/server/web-routes.ts).
 */
export function NotFound(props: { path: string; homePath: string }) {
  return (
    <section aria-labelledby="not-found-title">
      <h1 id="not-found-title">Page not found</h1>
      <p>
        There is no page at <code className="adm-wrap">{props.path}</code>. The address may be mistyped or out
        of date; the menu above lists the screens you can open.
      </p>
      <p>
        <Link to={props.homePath}>Go to the start page</Link>
      </p>
    </section>
  );
}
