"""Every human-readable message authgate sends, in English and Korean, keyed by a stable code."""

CATALOGUE: dict[str, dict[str, str]] = {
    # Error codes (the `code` of an error body, and the key of its `detail`).
    "validation_error": {
        "en": "The request is not valid.",
        "ko": "요청이 올바르지 않습니다.",
    },
    "username_taken": {
        "en": "A user with that username already exists.",
        "ko": "이미 존재하는 사용자입니다.",
    },
    "email_taken": {
        "en": "A user with that e-mail address already exists.",
        "ko": "이미 사용 중인 이메일 주소입니다.",
    },
    "password_policy": {
        "en": "The password does not meet the password policy.",
        "ko": "비밀번호가 비밀번호 정책을 충족하지 않습니다.",
    },
    "invalid_credentials": {
        "en": "The username or password is incorrect.",
        "ko": "아이디 또는 비밀번호가 올바르지 않습니다.",
    },
    "not_authenticated": {
        "en": "Authentication credentials were not provided.",
        "ko": "인증 정보가 제공되지 않았습니다.",
    },
    "token_invalid": {
        "en": "The token is invalid.",
        "ko": "유효하지 않은 토큰입니다.",
    },
    "token_expired": {
        "en": "The token has expired.",
        "ko": "토큰이 만료되었습니다.",
    },
    "token_revoked": {
        "en": "The session has ended; please log in again.",
        "ko": "세션이 종료되었습니다. 다시 로그인해 주세요.",
    },
    "token_reused": {
        "en": "This refresh token was already used; the session has been ended for safety.",
        "ko": "이미 사용된 리프레시 토큰입니다. 안전을 위해 세션이 종료되었습니다.",
    },
    "csrf_failed": {
        "en": "CSRF check failed: send the csrftoken cookie's value in the X-CSRF-Token header.",
        "ko": "CSRF 검증에 실패했습니다. csrftoken 쿠키 값을 X-CSRF-Token 헤더로 보내 주세요.",
    },
    "forbidden": {
        "en": "You do not have permission to perform this action.",
        "ko": "이 작업을 수행할 권한이 없습니다.",
    },
    "not_found": {
        "en": "Not found.",
        "ko": "찾을 수 없습니다.",
    },
    "method_not_allowed": {
        "en": "Method not allowed.",
        "ko": "허용되지 않는 메서드입니다.",
    },
    "rate_limited": {
        "en": "Too many requests; try again later.",
        "ko": "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.",
    },
    "precondition_failed": {
        "en": "The resource has changed since you last read it.",
        "ko": "마지막으로 조회한 이후 리소스가 변경되었습니다.",
    },
    "request_timeout": {
        "en": "The request was not received in time.",
        "ko": "요청이 제시간에 도착하지 않았습니다.",
    },
    "headers_too_large": {
        "en": "The request headers are too large or too many.",
        "ko": "요청 헤더가 너무 크거나 너무 많습니다.",
    },
    "payload_too_large": {
        "en": "The request body is too large.",
        "ko": "요청 본문이 너무 큽니다.",
    },
    "unsupported_media_type": {
        "en": "Unsupported content type: send JSON, form or multipart data.",
        "ko": "지원하지 않는 콘텐츠 형식입니다. JSON, 폼 또는 multipart 데이터를 보내 주세요.",
    },
    "service_unavailable": {
        "en": "The service is temporarily unavailable.",
        "ko": "서비스를 일시적으로 사용할 수 없습니다.",
    },
    "unsupported_grant_type": {
        "en": "Only the password and refresh_token grants are supported here.",
        "ko": "이곳에서는 password와 refresh_token 그랜트만 지원합니다.",
    },
    "mfa_required": {
        "en": "Enter the code from your authenticator app (or a recovery code) to log in.",
        "ko": "로그인을 마치려면 인증 앱의 코드(또는 복구 코드)를 입력해 주세요.",
    },
    "mfa_code_invalid": {
        "en": "The code is incorrect, expired or already used.",
        "ko": "코드가 올바르지 않거나, 만료되었거나, 이미 사용되었습니다.",
    },
    "mfa_already_enabled": {
        "en": "Two-factor authentication is already on; turn it off first to set up a new one.",
        "ko": "2단계 인증이 이미 켜져 있습니다. 새로 설정하려면 먼저 꺼 주세요.",
    },
    "mfa_not_enabled": {
        "en": "Two-factor authentication is not on for this account.",
        "ko": "이 계정에는 2단계 인증이 켜져 있지 않습니다.",
    },
    "passkey_invalid": {
        "en": "The passkey could not be verified; please try again.",
        "ko": "패스키를 확인할 수 없습니다. 다시 시도해 주세요.",
    },
    "mfa_enrollment_required": {
        "en": "Set up a second factor (an authenticator app or a passkey) to continue.",
        "ko": "계속하려면 2단계 인증 수단(인증 앱 또는 패스키)을 설정해 주세요.",
    },
    "passkey_none": {
        "en": "You have no passkey yet: re-authenticate with your password or a code instead.",
        "ko": "등록된 패스키가 없습니다. 비밀번호 또는 코드로 다시 인증해 주세요.",
    },
    "reauthentication_required": {
        "en": "Confirm it is you: authenticate again (password or code) and retry.",
        "ko": "본인 확인이 필요합니다. 다시 인증(비밀번호 또는 코드)한 후 다시 시도해 주세요.",
    },
    "internal_error": {
        "en": "An unexpected error occurred.",
        "ko": "예기치 않은 오류가 발생했습니다.",
    },
    # Password policy reasons (the `detail` of a `password_policy` error).
    "password_too_short": {
        "en": "The password must be at least {min_length} characters long.",
        "ko": "비밀번호는 {min_length}자 이상이어야 합니다.",
    },
    "password_too_long": {
        "en": "The password must be at most {max_length} characters long.",
        "ko": "비밀번호는 {max_length}자 이하여야 합니다.",
    },
    "password_too_common": {
        "en": "This password is too common.",
        "ko": "너무 흔한 비밀번호입니다.",
    },
    "password_like_username": {
        "en": "The password must not be the username.",
        "ko": "비밀번호는 사용자 이름과 같을 수 없습니다.",
    },
    # Success messages.
    "signup_success": {
        "en": "{username}, your account has been created.",
        "ko": "{username}님, 회원가입이 완료되었습니다.",
    },
    "login_success": {"en": "Login successful", "ko": "로그인 성공"},
    "logout_success": {"en": "Logout successful", "ko": "로그아웃 성공"},
    "logout_all_success": {
        "en": "All sessions have been ended.",
        "ko": "모든 세션이 종료되었습니다.",
    },
    "password_changed": {
        "en": "Your password has been changed.",
        "ko": "비밀번호가 변경되었습니다.",
    },
    "item_created": {"en": "Item created", "ko": "아이템이 생성되었습니다"},
    "item_updated": {"en": "Item updated", "ko": "아이템이 수정되었습니다"},
    # Password reset and e-mail verification (authgate.recovery, authgate.mail, authgate.ui).
    "password_reset_requested": {
        "en": "If an account has this address, a link to reset its password has been sent to it.",
        "ko": "이 주소로 가입된 계정이 있다면 비밀번호 재설정 링크를 보냈습니다.",
    },
    "password_reset_done": {
        "en": "Your password has been reset; log in with the new one.",
        "ko": "비밀번호가 재설정되었습니다. 새 비밀번호로 로그인해 주세요.",
    },
    "verification_sent": {
        "en": "A verification e-mail has been sent to your address.",
        "ko": "인증 메일을 회원님의 주소로 보냈습니다.",
    },
    "email_missing": {
        "en": "Your account has no e-mail address to verify.",
        "ko": "계정에 인증할 이메일 주소가 없습니다.",
    },
    "link_invalid": {
        "en": "This link no longer works: it was already used, it has expired, "
        "or a newer one was sent. Please ask for a new one.",
        "ko": "이 링크는 더 이상 사용할 수 없습니다. 이미 사용되었거나 만료되었거나 "
        "더 새로운 링크가 발송되었습니다. 새 링크를 요청해 주세요.",
    },
    "duration_minutes": {"en": "{n} minutes", "ko": "{n}분"},
    "duration_hours": {"en": "{n} hours", "ko": "{n}시간"},
    "mail_reset_subject": {
        "en": "Reset your {service} password",
        "ko": "{service} 비밀번호 재설정",
    },
    "mail_reset_intro": {
        "en": "Hello {username}, someone asked to reset the password of your {service} account. "
        "To choose a new password, open this link:",
        "ko": "{username}님, {service} 계정의 비밀번호 재설정이 요청되었습니다. "
        "새 비밀번호를 설정하려면 아래 링크를 여세요.",
    },
    "mail_reset_action": {"en": "Choose a new password", "ko": "새 비밀번호 설정하기"},
    "mail_reset_validity": {
        "en": "The link works once and expires in {duration}. "
        "Logging in with your current password still works until then.",
        "ko": "이 링크는 한 번만 사용할 수 있으며 {duration} 후에 만료됩니다. "
        "그때까지 현재 비밀번호로도 로그인할 수 있습니다.",
    },
    "mail_reset_not_you": {
        "en": "If you did not ask for this, ignore this mail: your password stays as it is, "
        "and nobody can change it without this link.",
        "ko": "직접 요청하지 않으셨다면 이 메일을 무시하세요. 비밀번호는 그대로이며, "
        "이 링크 없이는 아무도 바꿀 수 없습니다.",
    },
    "mail_verify_subject": {
        "en": "Confirm your e-mail address for {service}",
        "ko": "{service} 이메일 주소 인증",
    },
    "mail_verify_intro": {
        "en": "Hello {username}, please confirm that {email} is the e-mail address of your "
        "{service} account by opening this link:",
        "ko": "{username}님, 아래 링크를 열어 {email} 주소가 {service} 계정의 "
        "이메일 주소임을 인증해 주세요.",
    },
    "mail_verify_action": {"en": "Confirm my address", "ko": "이메일 주소 인증하기"},
    "mail_verify_validity": {
        "en": "The link expires in {duration}.",
        "ko": "이 링크는 {duration} 후에 만료됩니다.",
    },
    "mail_verify_not_you": {
        "en": "If you did not create or change a {service} account, ignore this mail: "
        "the address will not be confirmed.",
        "ko": "{service} 계정을 만들거나 변경하지 않으셨다면 이 메일을 무시하세요. "
        "주소는 인증되지 않습니다.",
    },
    "mail_link_hint": {
        "en": "If the button does not work, copy this address into your browser:",
        "ko": "버튼이 동작하지 않으면 아래 주소를 브라우저에 붙여 넣으세요.",
    },
    "mail_footer": {
        "en": "This mail was sent automatically by {service}. It never asks for your password.",
        "ko": "이 메일은 {service}에서 자동으로 발송되었습니다. 비밀번호를 묻지 않습니다.",
    },
    "ui_reset_title": {"en": "Choose a new password", "ko": "새 비밀번호 설정"},
    "ui_new_password": {"en": "New password", "ko": "새 비밀번호"},
    "ui_repeat_password": {"en": "Repeat the new password", "ko": "새 비밀번호 확인"},
    "ui_reset_submit": {"en": "Set the new password", "ko": "비밀번호 변경"},
    "ui_passwords_differ": {
        "en": "The two passwords are not the same.",
        "ko": "두 비밀번호가 서로 다릅니다.",
    },
    "ui_reset_done": {
        "en": "Your password has been changed. You can now log in with it; "
        "every other log-in of yours has been ended.",
        "ko": "비밀번호가 변경되었습니다. 이제 새 비밀번호로 로그인할 수 있으며, "
        "다른 모든 로그인은 종료되었습니다.",
    },
    "ui_verify_title": {"en": "Confirm your e-mail address", "ko": "이메일 주소 인증"},
    "ui_verify_prompt": {
        "en": "Press the button to confirm your e-mail address.",
        "ko": "버튼을 눌러 이메일 주소를 인증해 주세요.",
    },
    "ui_verify_done": {
        "en": "Thank you: {email} is now confirmed.",
        "ko": "감사합니다. {email} 주소가 인증되었습니다.",
    },
    "ui_link_missing": {
        "en": "This page needs the link from your e-mail.",
        "ko": "이 페이지는 메일에 있는 링크로 열어야 합니다.",
    },
    "service_description": {
        "en": "Account and authentication API: sign-up, log-in, sessions and tokens.",
        "ko": "계정 및 인증 API: 회원가입, 로그인, 세션과 토큰.",
    },
}


def translate(key: str, language: str, /, **params: object) -> str:
    """The message `key` in `language` (English when missing), with `params` filled in."""
    entry = CATALOGUE.get(key)
    if entry is None:
        return key
    text = entry.get(language) or entry["en"]
    return text.format(**params) if params else text
