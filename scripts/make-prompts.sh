#!/usr/bin/env bash
# Generates the IVR voice prompts prompts/<lang>/<name>.wav with espeak-ng and sox.
# Output format: 8 kHz, mono, 16-bit signed PCM WAV (the embedded engine and
# FreeSWITCH both play it). Dither is off (-D) so regenerating is reproducible.
# Usage: scripts/make-prompts.sh [output-dir]   (default: prompts/ next to this script)
set -euo pipefail

out_root="${1:-$(cd "$(dirname "$0")/.." && pwd)/prompts}"
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "make-prompts: $tool is not installed" >&2; exit 1; }
done
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# say <lang> <name> <sentence>
say() {
  local lang="$1" name="$2" text="$3"
  mkdir -p "$out_root/$lang"
  espeak-ng -v "$lang" -s 150 -w "$tmp/raw.wav" "$text"
  sox -D "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$out_root/$lang/$name.wav" gain -n -3
  echo "$lang/$name.wav"
}

say en enter-pin "Please enter the phone authentication PIN of this device, followed by the hash key."
say en wrong-pin "That PIN is not correct."
say en locked-out "Too many wrong PINs. Authentication of this phone is locked for a while. Please try again later. Goodbye."
say en blocked-now "Too many wrong PINs. This phone is now blocked. Please ask your administrator to reset its authentication. Goodbye."
say en auth-not-possible "Authentication of this phone is not possible right now. Please try again later. Goodbye."
say en blocked "This phone is blocked. Please ask your administrator to reset its authentication. Goodbye."
say en success "Thank you. This phone is now authenticated and will load its configuration. Goodbye."
say en already-authenticated "This phone is already authenticated. It will now reload its configuration. Goodbye."
say en service-unavailable "The authentication service is not available right now. Please try again later. Goodbye."
say en goodbye "We did not receive your PIN. Goodbye."

say de enter-pin "Bitte geben Sie die Telefon-Authentifizierungs-PIN dieses Geräts ein, gefolgt von der Rautetaste."
say de wrong-pin "Diese PIN ist nicht korrekt."
say de locked-out "Zu viele falsche PINs. Die Authentifizierung dieses Telefons ist für eine Weile gesperrt. Bitte versuchen Sie es später noch einmal. Auf Wiederhören."
say de blocked-now "Zu viele falsche PINs. Dieses Telefon ist jetzt blockiert. Bitte wenden Sie sich an Ihren Administrator, damit er die Authentifizierung des Telefons zurücksetzt. Auf Wiederhören."
say de auth-not-possible "Die Authentifizierung dieses Telefons ist im Moment nicht möglich. Bitte versuchen Sie es später noch einmal. Auf Wiederhören."
say de blocked "Dieses Telefon ist blockiert. Bitte wenden Sie sich an Ihren Administrator, damit er die Authentifizierung des Telefons zurücksetzt. Auf Wiederhören."
say de success "Vielen Dank. Dieses Telefon ist jetzt authentifiziert und lädt seine Konfiguration. Auf Wiederhören."
say de already-authenticated "Dieses Telefon ist bereits authentifiziert. Es lädt seine Konfiguration jetzt neu. Auf Wiederhören."
say de service-unavailable "Der Authentifizierungsdienst ist im Moment nicht verfügbar. Bitte versuchen Sie es später noch einmal. Auf Wiederhören."
say de goodbye "Wir haben Ihre PIN nicht erhalten. Auf Wiederhören."
