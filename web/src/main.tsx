import { render } from "preact";
import { App } from "./app";
import "./styles.css";

// The 10-foot mode on a screen that does not say it is a TV (styles.css): ?tv=1 keeps it on.
const tv = new URLSearchParams(location.search).get("tv");
if (tv === "1" || tv === "0") localStorage.setItem("cinema.tv", tv);
const kept = localStorage.getItem("cinema.tv");
document.documentElement.classList.toggle("tv", kept === "1");
document.documentElement.classList.toggle("no-tv", kept === "0");

render(<App />, document.getElementById("app")!);
