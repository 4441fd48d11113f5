// Organisation picker: suggests organisations as you type, from the
// search API (/api/v1/search). Without it the form still works: the
// compare page accepts a code or a name that picks out one organisation.
for (const input of document.querySelectorAll('input[data-typeahead]')) {
  const list = document.getElementById(input.getAttribute('list'));
  let timer = null;
  let last = '';
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = input.value.trim();
      if (q.length < 2 || q === last) return;
      last = q;
      try {
        const res = await fetch(input.dataset.typeahead + '&q=' + encodeURIComponent(q), {headers: {Accept: 'application/json'}});
        if (!res.ok) return;
        const body = await res.json();
        list.replaceChildren(...body.results.filter(r => r.code).map(r => {
          const o = document.createElement('option');
          o.value = r.code;
          o.label = r.title;
          o.textContent = r.title;
          return o;
        }));
      } catch (e) {
        // Suggestions are a convenience: the form works without them.
      }
    }, 150);
  });
}
