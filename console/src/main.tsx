import { render } from 'preact';
import { App } from './app.tsx';
import { completeSignIn, signedIn, signIn } from './auth.ts';
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
    await completeSignIn();
    if (!signedIn()) return void (await signIn());
    render(<App session={await loadSession()} />, root);
  } catch (err) {
    fatal((err as Error).message);
  }
}

void start();
