// Scanning: a phone's QR scanner app can type into the field; where the browser has the
// BarcodeDetector API, the camera button reads the code directly (no external library).
(function () {
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  const button = document.getElementById("scan-button");
  const video = document.getElementById("scan-video");
  const input = document.getElementById("code");
  if (!button || !video || !input) return;
  button.classList.remove("d-none");
  button.addEventListener("click", async function () {
    const detector = new BarcodeDetector({formats: ["qr_code"]});
    const stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}});
    video.srcObject = stream; video.classList.remove("d-none"); await video.play();
    const tick = async function () {
      const codes = await detector.detect(video).catch(function () { return []; });
      if (codes.length) {
        stream.getTracks().forEach(function (t) { t.stop(); });
        input.value = codes[0].rawValue; input.form.submit(); return;
      }
      requestAnimationFrame(tick);
    };
    tick();
  });
})();
