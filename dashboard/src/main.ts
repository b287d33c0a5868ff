/** Entry point: learns where the API is, takes the session from the link or sessionStorage, renders the shell. */
import { html } from 'htm/preact';
import { render } from 'preact';
import { loadApiBaseUrl } from './api';
import { App } from './app';
import { readSession } from './session';

async function main(): Promise<void> {
  const initialSession = readSession(location, sessionStorage);
  const apiBaseUrl = await loadApiBaseUrl();
  render(html`<${App} apiBaseUrl=${apiBaseUrl} initialSession=${initialSession} />`, document.getElementById('app')!);
}

void main();
