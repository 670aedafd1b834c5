// What both pages show of a call in the same way: the other side's video, the
// verification code, the mute/camera buttons, and acting on the current call.

import { say } from "./i18n.js";
import { codeOf } from "./verify.js";

const $ = (id) => document.getElementById(id);

/** Play the other side's media in #remote-video as its tracks arrive. */
export function playRemote(call) {
  call.addEventListener("remotetrack", () => {
    const video = $("remote-video");
    if (video.srcObject !== call.remoteStream) video.srcObject = call.remoteStream;
    video.play().catch(() => {});
  });
}

/** The four words both people read aloud, once DTLS is up. */
export async function showVerificationCode(call) {
  const code = await codeOf(call.pc).catch(() => null);
  if (code && !call.closed) $("verify-code").textContent = code;
}

export function renderMediaToggles(call) {
  say($("toggle-mic"), call.microphoneOn ? "call.mute" : "call.unmute");
  say($("toggle-camera"), call.cameraOn ? "call.cameraOff" : "call.cameraOn");
  $("toggle-mic").setAttribute("aria-pressed", String(!call.microphoneOn));
  $("toggle-camera").setAttribute("aria-pressed", String(!call.cameraOn));
}

/** Run `action` on the call behind `callPromise` if it is still the one for `contactId`. */
export function withCurrentCall(callPromise, contactId, action) {
  callPromise?.then((call) => {
    if (call && !call.closed && call.contactId === contactId) action(call);
  });
}

/**
 * Tell the other side that our camera went off or back on, so its page says so and does
 * not judge our black picture. `again`: say it even if it was said (the other side may
 * not have heard it: its page is new, or our socket came back).
 */
export function tellCamera(signaling, call, again = false) {
  const cameraOff = call.cameraOff;
  if (cameraOff === call.saidCameraOff && !again) return;
  if (signaling.send("call.camera", { contactId: call.contactId, cameraOff })) {
    call.saidCameraOff = cameraOff;
  }
}
