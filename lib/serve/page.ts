/**
 * The page at GET / of the translation service: type or paste text (one sentence per line), pick a model, see
 * the translations and how long they took. Plain HTML and a few lines of script against the service's own API
 * (GET /models, POST /translate); no build step, no framework.
 */

export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>xlm-kd translate</title>
<style>
  body { font: 16px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
  h1 { font-size: 1.4rem; margin-bottom: .2rem; }
  p.hint { color: #555; margin-top: 0; }
  textarea { width: 100%; min-height: 8rem; font: inherit; padding: .5rem; box-sizing: border-box; }
  .row { display: flex; gap: .75rem; align-items: center; margin: .75rem 0; flex-wrap: wrap; }
  button { font: inherit; padding: .4rem 1.2rem; cursor: pointer; }
  #output { white-space: pre-wrap; background: #f5f5f7; padding: .75rem; min-height: 3rem; border-radius: 4px; }
  #status { color: #555; }
  .error { color: #b00020; }
</style>
</head>
<body>
<h1>xlm-kd translate</h1>
<p class="hint">One sentence per line. The service batches sentences from everyone who translates at the same time.</p>
<textarea id="input" aria-label="text to translate" placeholder="Open file"></textarea>
<div class="row">
  <label>Model <select id="model" aria-label="model"></select></label>
  <label>Beam <input id="beam" type="number" min="1" max="8" value="5" style="width:4rem" aria-label="beam size"></label>
  <button id="go">Translate</button>
  <span id="status" role="status"></span>
</div>
<div id="output" aria-live="polite"></div>
<script>
const $ = (id) => document.getElementById(id);
async function loadModels() {
  const r = await fetch('/models');
  const { models } = await r.json();
  for (const m of models) {
    const o = document.createElement('option');
    o.value = m.name;
    o.textContent = m.name + ' (' + m.kind + ', ' + (m.parameters / 1e6).toFixed(1) + 'M parameters)';
    $('model').appendChild(o);
  }
}
async function go() {
  const lines = $('input').value.split('\\n').map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length === 0) { $('status').textContent = 'nothing to translate'; return; }
  $('go').disabled = true;
  $('status').textContent = 'translating...';
  $('output').classList.remove('error');
  const t0 = performance.now();
  try {
    const r = await fetch('/translate', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ q: lines, model: $('model').value, beam: Number($('beam').value) }),
    });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    $('output').textContent = body.translations.map((t) => t.text).join('\\n');
    $('status').textContent = lines.length + ' sentence(s) in ' + Math.round(performance.now() - t0) + ' ms';
  } catch (e) {
    $('output').classList.add('error');
    $('output').textContent = String(e.message || e);
    $('status').textContent = '';
  } finally {
    $('go').disabled = false;
  }
}
$('go').addEventListener('click', go);
loadModels();
</script>
</body>
</html>
`;
