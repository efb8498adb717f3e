import { render } from 'preact';
import { App } from './app.tsx';
import { completeSignIn, loadConfig, signedIn, signIn } from './auth.ts';
import { loadSession } from './session.tsx';
import './styles.css';

const root = document.getElementById('app')!;

function fatal(message: string) {
  render(
    <main id="main" class="centered">
      <div class="card">
        <h1>Gatehouse console</h1>
        <div class="error" role="alert">
          {message}
        </div>
        <p>
          <a href="/console/">Try again</a>
        </p>
      </div>
    </main>,
    root,
  );
}

async function start() {
  try {
    // The sign-in comes back to the redirect URI's origin, and the PKCE state lives in this origin's storage: opened
    // under another name for the same server (localhost for 127.0.0.1), move over first.
    const redirect = new URL((await loadConfig()).redirect_uri);
    if (redirect.origin !== location.origin) return location.replace(redirect.origin + location.pathname + location.search);
    await completeSignIn();
    if (!signedIn()) return void (await signIn());
    render(<App session={await loadSession()} />, root);
  } catch (err) {
    fatal((err as Error).message);
  }
}

void start();
