// The table's filters: name prefix, state, group, tags (all must match).
// Every change goes to the URL (url-state.ts).
import { useState } from 'preact/hooks';
import { STATES, STATE_LABEL, isHostState } from '../states.js';
import { setView, view } from '../url-state.js';

/** Every tag and group the fleet uses, kept by the deriver (rows.ts) rather than gathered over every host per frame. */
export function Filters({ tags, groups }: { tags: ReadonlySet<string>; groups: ReadonlySet<string> }) {
  const v = view.value;
  const [tag, setTag] = useState('');
  const addTag = (t: string) => {
    const x = t.trim();
    if (x && !v.tags.includes(x)) setView({ tags: [...v.tags, x] });
    setTag('');
  };
  return (
    <form class="filters" role="search" onSubmit={(e) => { e.preventDefault(); addTag(tag); }}>
      <label>
        Name starts with
        <input type="search" name="search" value={v.search} onInput={(e) => setView({ search: e.currentTarget.value })} />
      </label>
      <label>
        State
        <select name="state" value={v.state ?? ''} onChange={(e) => setView({ state: isHostState(e.currentTarget.value) ? e.currentTarget.value : null })}>
          <option value="">any</option>
          {STATES.map((s) => (
            <option key={s} value={s}>{STATE_LABEL[s]}</option>
          ))}
        </select>
      </label>
      <label>
        Group
        <select name="group" value={v.group ?? ''} onChange={(e) => setView({ group: e.currentTarget.value || null })}>
          <option value="">any</option>
          {[...groups].sort().map((g) => (
            <option key={g} value={g}>{g}</option>
          ))}
        </select>
      </label>
      <label>
        Tag
        <input name="tag" list="tag-list" value={tag} onInput={(e) => setTag(e.currentTarget.value)} onChange={(e) => tags.has(e.currentTarget.value) && addTag(e.currentTarget.value)} />
        <datalist id="tag-list">
          {[...tags].sort().slice(0, 500).map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
      </label>
      <ul class="tags" aria-label="Tags every host must have">
        {v.tags.map((t) => (
          <li key={t}>
            <button type="button" class="tag" aria-label={`Remove tag ${t}`} onClick={() => setView({ tags: v.tags.filter((x) => x !== t) })}>
              {t} ×
            </button>
          </li>
        ))}
      </ul>
      {(v.search || v.state || v.group || v.tags.length > 0) && (
        <button type="button" onClick={() => setView({ search: '', state: null, group: null, tags: [] })}>Clear filters</button>
      )}
    </form>
  );
}
