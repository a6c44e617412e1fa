// Turns each <div class="asciicast" data-cast="NAME"> into an asciinema
// player for casts/NAME.cast. `path_to_root` is set by mdBook on every page,
// so this works under `mdbook serve` and under a GitHub Pages sub-path alike.
// The players are kept in window.rustguessPlayers for the browser test.
(() => {
    window.rustguessPlayers = [];
    for (const el of document.querySelectorAll('.asciicast[data-cast]')) {
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
})();
