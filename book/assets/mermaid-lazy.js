// mermaid.min.js is 2.6 MB, so load it (and mdbook-mermaid's mermaid-init.js)
// only on pages that have a diagram, instead of on every page.
(() => {
    if (!document.querySelector('pre.mermaid')) return;
    const load = (src) => new Promise((ok, fail) => {
        const s = document.createElement('script');
        s.src = path_to_root + src;
        s.onload = ok;
        s.onerror = () => fail(new Error('cannot load ' + src));
        document.head.appendChild(s);
    });
    load('assets/mermaid.min.js')
        .then(() => load('assets/mermaid-init.js'))
        // mermaid-init.js renders on the window's load event; if that has
        // already fired, render now instead.
        .then(() => {
            if (document.readyState === 'complete') return mermaid.run();
        });
})();
