// The case file's "Print" button: shown only when JavaScript runs (without it, the hint beside it says to use the
// browser's print command, which prints the same page with the same print styles).
(function () {
  var button = document.querySelector('[data-print]');
  if (!button) return;
  button.hidden = false;
  button.addEventListener('click', function () { window.print(); });
})();
