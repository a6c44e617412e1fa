// Turns each <div class="asciicast" data-cast="NAME"> into an asciinema
// player for casts/NAME.cast. The player (asciinema-player 3.18.0, vendored
// from npm with its licence) is loaded only on pages that have a cast.
// `path_to_root` is set by mdBook on every page, so the URLs work under
// `mdbook serve` and under a GitHub Pages sub-path alike.
// The players are kept in window.rustguessPlayers for the browser test.
(() => {
    const casts = document.querySelectorAll('.asciicast[data-cast]');
    window.rustguessPlayers = [];
    if (casts.length === 0) return;
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = path_to_root + 'assets/asciinema-player.css';
    document.head.appendChild(css);
    const js = document.createElement('script');
    js.src = path_to_root + 'assets/asciinema-player.min.js';
    js.onerror = () => console.error('cannot load the asciinema player');
    js.onload = () => {
        for (const el of casts) {
            const url = path_to_root + 'casts/' + el.dataset.cast + '.cast';
            const player = AsciinemaPlayer.create(url, el, {
                fit: 'width',
                idleTimeLimit: 1,
                terminalFontSize: '14px',
                poster: 'npt:0:3',
                preload: true,
            });
            window.rustguessPlayers.push({ name: el.dataset.cast, player });
        }
    };
    document.head.appendChild(js);
})();
