// Render the ```mermaid blocks (the generated lifecycle diagrams) as diagrams.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("pre > code.language-mermaid").forEach(function (code) {
    var div = document.createElement("div");
    div.className = "mermaid";
    div.textContent = code.textContent;
    code.parentElement.replaceWith(div);
  });
  if (window.mermaid) {
    window.mermaid.initialize({ startOnLoad: false });
    window.mermaid.run();
  }
});
