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

say fr enter-pin "Veuillez saisir le code PIN d'authentification de ce téléphone, suivi de la touche dièse."
say fr wrong-pin "Ce code PIN n'est pas correct."
say fr locked-out "Trop de codes PIN erronés. L'authentification de ce téléphone est bloquée pour un moment. Veuillez réessayer plus tard. Au revoir."
say fr blocked-now "Trop de codes PIN erronés. Ce téléphone est maintenant bloqué. Veuillez demander à votre administrateur de réinitialiser son authentification. Au revoir."
say fr auth-not-possible "L'authentification de ce téléphone n'est pas possible pour le moment. Veuillez réessayer plus tard. Au revoir."
say fr blocked "Ce téléphone est bloqué. Veuillez demander à votre administrateur de réinitialiser son authentification. Au revoir."
say fr success "Merci. Ce téléphone est maintenant authentifié et va charger sa configuration. Au revoir."
say fr already-authenticated "Ce téléphone est déjà authentifié. Il va maintenant recharger sa configuration. Au revoir."
say fr service-unavailable "Le service d'authentification n'est pas disponible pour le moment. Veuillez réessayer plus tard. Au revoir."
say fr goodbye "Nous n'avons pas reçu votre code PIN. Au revoir."

say es enter-pin "Introduzca el PIN de autenticación de este teléfono, seguido de la tecla almohadilla."
say es wrong-pin "Ese PIN no es correcto."
say es locked-out "Demasiados PIN incorrectos. La autenticación de este teléfono está bloqueada durante un tiempo. Vuelva a intentarlo más tarde. Adiós."
say es blocked-now "Demasiados PIN incorrectos. Este teléfono está ahora bloqueado. Pida a su administrador que restablezca su autenticación. Adiós."
say es auth-not-possible "La autenticación de este teléfono no es posible en este momento. Vuelva a intentarlo más tarde. Adiós."
say es blocked "Este teléfono está bloqueado. Pida a su administrador que restablezca su autenticación. Adiós."
say es success "Gracias. Este teléfono ya está autenticado y cargará su configuración. Adiós."
say es already-authenticated "Este teléfono ya estaba autenticado. Ahora volverá a cargar su configuración. Adiós."
say es service-unavailable "El servicio de autenticación no está disponible en este momento. Vuelva a intentarlo más tarde. Adiós."
say es goodbye "No hemos recibido su PIN. Adiós."

say it enter-pin "Inserire il PIN di autenticazione di questo telefono, seguito dal tasto cancelletto."
say it wrong-pin "Il PIN non è corretto."
say it locked-out "Troppi PIN errati. L'autenticazione di questo telefono è bloccata per un po' di tempo. Riprovare più tardi. Arrivederci."
say it blocked-now "Troppi PIN errati. Questo telefono è ora bloccato. Chiedere all'amministratore di reimpostarne l'autenticazione. Arrivederci."
say it auth-not-possible "L'autenticazione di questo telefono non è possibile al momento. Riprovare più tardi. Arrivederci."
say it blocked "Questo telefono è bloccato. Chiedere all'amministratore di reimpostarne l'autenticazione. Arrivederci."
say it success "Grazie. Questo telefono è ora autenticato e caricherà la sua configurazione. Arrivederci."
say it already-authenticated "Questo telefono è già autenticato. Ora ricaricherà la sua configurazione. Arrivederci."
say it service-unavailable "Il servizio di autenticazione non è disponibile al momento. Riprovare più tardi. Arrivederci."
say it goodbye "Non abbiamo ricevuto il PIN. Arrivederci."

say nl enter-pin "Voer de authenticatiepincode van dit toestel in, gevolgd door het hekje."
say nl wrong-pin "Die pincode is niet juist."
say nl locked-out "Te veel onjuiste pincodes. De authenticatie van deze telefoon is een tijdje geblokkeerd. Probeer het later opnieuw. Tot ziens."
say nl blocked-now "Te veel onjuiste pincodes. Deze telefoon is nu geblokkeerd. Vraag uw beheerder de authenticatie opnieuw in te stellen. Tot ziens."
say nl auth-not-possible "Authenticatie van deze telefoon is op dit moment niet mogelijk. Probeer het later opnieuw. Tot ziens."
say nl blocked "Deze telefoon is geblokkeerd. Vraag uw beheerder de authenticatie opnieuw in te stellen. Tot ziens."
say nl success "Dank u. Deze telefoon is nu geauthenticeerd en laadt zijn configuratie. Tot ziens."
say nl already-authenticated "Deze telefoon is al geauthenticeerd. Hij laadt zijn configuratie nu opnieuw. Tot ziens."
say nl service-unavailable "De authenticatiedienst is op dit moment niet beschikbaar. Probeer het later opnieuw. Tot ziens."
say nl goodbye "We hebben uw pincode niet ontvangen. Tot ziens."

say pl enter-pin "Proszę wprowadzić kod PIN uwierzytelniania tego urządzenia, a następnie nacisnąć krzyżyk."
say pl wrong-pin "Ten kod PIN jest nieprawidłowy."
say pl locked-out "Zbyt wiele błędnych kodów PIN. Uwierzytelnianie tego telefonu jest na pewien czas zablokowane. Proszę spróbować ponownie później. Do widzenia."
say pl blocked-now "Zbyt wiele błędnych kodów PIN. Ten telefon jest teraz zablokowany. Proszę poprosić administratora o zresetowanie jego uwierzytelniania. Do widzenia."
say pl auth-not-possible "Uwierzytelnienie tego telefonu nie jest w tej chwili możliwe. Proszę spróbować ponownie później. Do widzenia."
say pl blocked "Ten telefon jest zablokowany. Proszę poprosić administratora o zresetowanie jego uwierzytelniania. Do widzenia."
say pl success "Dziękujemy. Ten telefon jest teraz uwierzytelniony i wczyta swoją konfigurację. Do widzenia."
say pl already-authenticated "Ten telefon jest już uwierzytelniony. Teraz ponownie wczyta swoją konfigurację. Do widzenia."
say pl service-unavailable "Usługa uwierzytelniania jest w tej chwili niedostępna. Proszę spróbować ponownie później. Do widzenia."
say pl goodbye "Nie otrzymaliśmy kodu PIN. Do widzenia."
