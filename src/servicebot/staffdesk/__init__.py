"""The staff desk: where office staff answer hand-off tickets (转人工) in an ordinary browser.

Telegram is blocked in mainland China, so the staff group on Telegram (`channels/tg_staff.py`)
cannot be the only place staff answer. The desk is a second, optional place, on a web server
of its own (`desk_port`, paths under `/desk`), beside the staff group or instead of it:

- `accounts.py`: staff accounts (created from the CLI), argon2 password hashes, sessions;
- `guard.py`: cookies, CSRF tokens, the sign-in gate, the security headers;
- `site.py`: the Starlette app: sign-in, the open tickets, reply / 已解决 / 加入问答 through the
  hand-off desk's public API (`tickets.Desk`), so both desks agree on every ticket;
- `pages.py`: the pages as plain HTML (Chinese), `static/`: one stylesheet, one small script;
- `tools.py`: the staff tools as pages (review, stats, FAQ health, applying a held-back reload);
- `notify.py`: "新的人工咨询 #N" pushed to a 企业微信 group robot (`wecom_webhook_url`);
- `admin.py`: `servicebot staff add / password / disable / enable / list`.
"""
