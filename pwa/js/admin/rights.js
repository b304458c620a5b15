// Why: a person's rights under UK GDPR reach the office by letter, email or phone. Two of them are served
// from the console: a copy of everything held about the person (subject access), as a file, and erasure,
// which removes them from the server and from every phone for good. Both are recorded in the audit log,
// and erasure asks twice, because it cannot be undone.
import { ask, downloadBlob, esc } from '../ui/common.js';
import { api, explain, field } from './common.js';

const RECEIVED = [['letter', 'By letter'], ['email', 'By email'], ['phone', 'By phone'], ['in_person', 'In person']];

/** Download everything held about one elector or member ("elector" | "member"), as the server writes it. */
export async function subjectAccess(kind, id) {
  const { blob, filename } = await api('GET', `/rights/${kind}s/${id}/subject-access`, { file: true });
  downloadBlob(filename, blob);
}

/** Ask how an erasure request came and what it said; null if the admin thinks better of it. */
function askErasure(name) {
  return new Promise((resolve) => {
    const dialog = document.createElement('dialog');
    dialog.className = 'dialog';
    dialog.setAttribute('aria-labelledby', 'erase-title');
    dialog.innerHTML = `<form method="dialog" novalidate><h2 id="erase-title">Erase ${esc(name)}?</h2>
      <p>Their name, phone number, notes and answers are removed from the server and from every phone at its next
        sync, and they are never contacted again. Counts stay, without them. A later register that still lists them
        does not bring anything back. <strong>This cannot be undone.</strong></p>
      ${field({ name: 'received_via', label: 'How the request came', options: RECEIVED })}
      ${field({ name: 'erase_reason', label: 'What they asked, without their name', type: 'textarea', required: true,
        hint: 'For example: "Letter of 3 Dec asking to be forgotten"', attrs: 'rows="2" maxlength="1000"' })}
      <div class="stack"><button class="btn btn-danger btn-solid" value="erase">Erase them</button>
        <button class="btn" value="" formnovalidate>Cancel</button></div></form>`;
    const area = dialog.querySelector('textarea');
    area.addEventListener('input', () => { dialog.querySelector('[data-error-for=erase_reason]').textContent = ''; });
    dialog.querySelector('form').addEventListener('submit', (event) => {
      if (event.submitter && event.submitter.value === 'erase' && !area.value.trim()) {
        event.preventDefault();
        dialog.querySelector('[data-error-for=erase_reason]').textContent = 'Say what they asked, so the record shows why.';
      }
    });
    dialog.addEventListener('close', () => {
      const answer = dialog.returnValue === 'erase'
        ? { reason: area.value.trim(), received_via: dialog.querySelector('select').value } : null;
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Carry out an erasure request after asking; resolves true once the server has erased the person. */
export async function erase(kind, id, name) {
  const answer = await askErasure(name);
  if (!answer) return false;
  const sure = await ask({
    title: 'Erase for good?',
    body: `<p>${esc(name)} will be erased now. There is no undo.</p>`,
    buttons: [{ label: 'Yes, erase now', value: true, kind: 'danger' }, { label: 'Cancel', value: false }],
  });
  if (!sure) return false;
  await api('POST', `/rights/${kind}s/${id}/erasure`, { body: answer });
  return true;
}

/** The two request buttons for one person, to put beside them on a screen. */
export function requestButtons(kind, id, name) {
  return `<button type="button" class="btn btn-small" data-sar="${kind}:${id}" data-name="${esc(name)}">Subject access<span class="visually-hidden"> for ${esc(name)}</span></button>
    <button type="button" class="btn btn-small btn-danger" data-erase="${kind}:${id}" data-name="${esc(name)}">Erase…<span class="visually-hidden"> ${esc(name)}</span></button>`;
}

/** Handle clicks on requestButtons inside ``root``; ``after(message)`` is told what happened. */
export function handleRequests(root, after) {
  root.addEventListener('click', async (event) => {
    const sar = event.target.closest('[data-sar]');
    const gone = event.target.closest('[data-erase]');
    const button = sar || gone;
    if (!button) return;
    const [kind, id] = (sar ? sar.dataset.sar : gone.dataset.erase).split(':');
    const name = button.dataset.name;
    try {
      if (sar) {
        await subjectAccess(kind, id);
        after(`Downloaded everything held about ${name}. The export was recorded in the audit log.`);
      } else if (await erase(kind, id, name)) {
        after(`${name} has been erased. Phones drop them at their next sync.`, true);
      }
    } catch (error) {
      after(explain(error));
    }
  });
}
