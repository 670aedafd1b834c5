// The in-call text chat, the same on both pages: for when audio fails, or to
// pass a reference number that is hard to spell aloud.

import { say } from "./i18n.js";

const TIME = { hour: "2-digit", minute: "2-digit" };

export class ChatBox {
  /**
   * @param {object} options
   * @param {HTMLElement} options.log an <ol> that is an aria-live region
   * @param {HTMLFormElement} options.form holds one text input and a submit button
   * @param {string} options.role "citizen" or "executive": whose lines are "mine"
   * @param {(text: string) => boolean} options.send false when it could not be sent
   */
  constructor({ log, form, role, send }) {
    this.log = log;
    this.form = form;
    this.input = form.querySelector("input");
    this.role = role;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      if (send(text)) this.input.value = "";
    });
  }

  /** A chat.message (or a line of welcome.state.call.chat). */
  add({ sender, name, text, at }) {
    const line = document.createElement("li");
    line.className = sender === this.role ? "mine" : "theirs";
    const who = document.createElement("span");
    who.className = "who";
    if (sender === this.role) say(who, "chat.you");
    else if (name) who.textContent = name;
    else say(who, sender === "citizen" ? "chat.citizen" : "chat.executive");
    const when = document.createElement("time");
    say(when, "chat.time", { time: { $date: at, ...TIME } });
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    line.append(who, " ", when, " ", body);
    this.log.append(line);
    line.scrollIntoView({ block: "nearest" });
  }

  load(lines) {
    this.clear();
    for (const line of lines ?? []) this.add(line);
  }

  clear() {
    this.log.replaceChildren();
    this.input.value = "";
  }
}
