// Why: the optional part of a record (strength, the campaign's survey questions, notes) is the same
// form at a door and on a call; this builds it from the campaign's code sets and reads it back in the
// shapes the protocol asks for (choice → code, multi_choice → codes, yes_no → boolean, scale → integer).
import { inUse } from '../recording.js';
import { esc } from './common.js';

function optionsOf(question) {
  return Array.isArray(question.options) ? question.options : [];
}

function scaleRange(question) {
  const o = question.options && !Array.isArray(question.options) ? question.options : {};
  return { min: Number.isInteger(o.min) ? o.min : 1, max: Number.isInteger(o.max) ? o.max : 10 };
}

function questionHtml(q, prefix, answer) {
  const id = `${prefix}-q-${q.key}`;
  const options = optionsOf(q);
  switch (q.kind) {
    case 'choice':
      return `<div class="field"><label for="${id}">${esc(q.text)}</label><select id="${id}" data-q="${esc(q.key)}">
        <option value="">Not asked</option>${options.map((o) => `<option value="${esc(o.code)}" ${answer === o.code ? 'selected' : ''}>${esc(o.label)}</option>`).join('')}</select></div>`;
    case 'multi_choice':
      return `<fieldset class="field"><legend>${esc(q.text)}</legend>${options.map((o, i) => `
        <label class="check"><input type="checkbox" data-q="${esc(q.key)}" value="${esc(o.code)}" id="${id}-${i}"
        ${Array.isArray(answer) && answer.includes(o.code) ? 'checked' : ''}> ${esc(o.label)}</label>`).join('')}</fieldset>`;
    case 'yes_no':
      return `<div class="field"><label for="${id}">${esc(q.text)}</label><select id="${id}" data-q="${esc(q.key)}" data-kind="yes_no">
        <option value="">Not asked</option><option value="yes" ${answer === true ? 'selected' : ''}>Yes</option>
        <option value="no" ${answer === false ? 'selected' : ''}>No</option></select></div>`;
    case 'scale': {
      const { min, max } = scaleRange(q);
      const values = [];
      for (let v = min; v <= max; v++) values.push(v);
      return `<div class="field"><label for="${id}">${esc(q.text)}</label><select id="${id}" data-q="${esc(q.key)}" data-kind="scale">
        <option value="">Not asked</option>${values.map((v) => `<option value="${v}" ${answer === v ? 'selected' : ''}>${v}</option>`).join('')}</select></div>`;
    }
    default:
      return `<div class="field"><label for="${id}">${esc(q.text)}</label>
        <input id="${id}" type="text" maxlength="500" data-q="${esc(q.key)}" value="${esc(typeof answer === 'string' ? answer : '')}"></div>`;
  }
}

/** The optional details form's fields, filled from an earlier record if there is one. */
export function detailsFormHtml(campaign, previous, prefix, { strength = true } = {}) {
  const survey = (previous && previous.survey) || {};
  const strengths = inUse(campaign.strengths);
  return `
    ${strength && strengths.length ? `<div class="field"><label for="${prefix}-strength">Strength</label>
      <select id="${prefix}-strength" data-strength><option value="">Not asked</option>
      ${strengths.map((s) => `<option value="${esc(s.code)}" ${previous && previous.strength === s.code ? 'selected' : ''}>${esc(s.label)}</option>`).join('')}
      </select></div>` : ''}
    ${inUse(campaign.questions).map((q) => questionHtml(q, prefix, survey[q.key])).join('')}
    <div class="field"><label for="${prefix}-notes">Notes</label>
      <textarea id="${prefix}-notes" rows="3" maxlength="2000" data-notes>${esc((previous && previous.notes) || '')}</textarea></div>`;
}

/** Read the form back: {strength, survey, notes}, leaving out what was not answered. */
export function readDetails(form, campaign) {
  const survey = {};
  for (const q of inUse(campaign.questions)) {
    const inputs = [...form.querySelectorAll(`[data-q="${CSS.escape(q.key)}"]`)];
    if (q.kind === 'multi_choice') {
      const codes = inputs.filter((i) => i.checked).map((i) => i.value);
      if (codes.length) survey[q.key] = codes;
      continue;
    }
    const value = inputs[0] ? inputs[0].value.trim() : '';
    if (!value) continue;
    if (q.kind === 'yes_no') survey[q.key] = value === 'yes';
    else if (q.kind === 'scale') survey[q.key] = parseInt(value, 10);
    else survey[q.key] = value;
  }
  const strengthEl = form.querySelector('[data-strength]');
  const notesEl = form.querySelector('[data-notes]');
  return {
    strength: strengthEl && strengthEl.value ? strengthEl.value : null,
    survey,
    notes: notesEl && notesEl.value.trim() ? notesEl.value.trim() : null,
  };
}
