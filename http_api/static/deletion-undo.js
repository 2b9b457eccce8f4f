// The undo link's page: a GET only shows it (mail scanners open links), the button posts.
const token = new URLSearchParams(location.search).get("token") || "";
document.getElementById("undo").addEventListener("submit", async (event) => {
  event.preventDefault();
  const res = await fetch("/api/v1/auth/deletion/undo", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({token}),
  });
  const body = await res.json();
  document.getElementById("result").textContent = res.ok ? body.message : body.error.message;
  if (res.ok) event.target.hidden = true;
});
