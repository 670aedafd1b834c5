// Getting a person's attention when their turn comes: a short chime, and an
// OS notification when the page is hidden and the person allowed them.

export function chime() {
  try {
    const audio = new AudioContext();
    for (const [index, frequency] of [880, 660].entries()) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = frequency;
      gain.gain.value = 0.15;
      tone.connect(gain).connect(audio.destination);
      tone.start(audio.currentTime + index * 0.25);
      tone.stop(audio.currentTime + index * 0.25 + 0.2);
    }
    setTimeout(() => audio.close(), 1000);
  } catch {
    // No audio output: the title and the page still say it.
  }
}

export function notify(title, body) {
  if (document.hidden && "Notification" in window && Notification.permission === "granted") {
    new Notification(title, { body });
  }
}

/** Asked on a click, as browsers require. */
export function askToNotify() {
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => {});
  }
}
