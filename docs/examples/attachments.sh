#!/usr/bin/env bash
# Attachments with curl: upload a file, attach it to a reply, check it with HEAD, download it.
# Needs: HELPLINE_URL, HELPLINE_API_KEY (tickets:write), CUSTOMER_ID.
set -euo pipefail
api="$HELPLINE_URL/api/v1"
auth=(-H "Authorization: Bearer $HELPLINE_API_KEY")
json=(-H "Content-Type: application/json")
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf 'Export log: row 17 has an unterminated quote.\n' >"$tmp/export.log"

ticket=$(curl -sf "${auth[@]}" "${json[@]}" -X POST "$api/tickets" \
  -d "{\"title\": \"CSV export fails\", \"customer_id\": \"$CUSTOMER_ID\"}" | field id)

# 1. Upload (multipart, field "file"). The type is detected from the bytes, not the name.
upload=$(curl -sf "${auth[@]}" -F "file=@$tmp/export.log" "$api/attachments")
id=$(field id <<<"$upload")
python3 -c 'import json,sys; a=json.loads(sys.argv[1]); print("uploaded", a["filename"], a["content_type"], a["size"])' "$upload"

# 2. Attach it to a message: up to 10 of your own unbound uploads per message.
curl -sf "${auth[@]}" "${json[@]}" -X POST "$api/tickets/$ticket/conversations" \
  -d "{\"message\": \"The log is attached.\", \"attachment_ids\": [\"$id\"]}" |
  python3 -c 'import json,sys; m=json.load(sys.stdin); print("attached", [a["filename"] for a in m["attachments"]])'

# 3. HEAD: the download's headers without the body (size, type, ETag = SHA-256).
curl -sf -I "${auth[@]}" "$api/attachments/$id/content" |
  python3 -c 'import sys; h=dict(l.rstrip("\r\n").lower().split(": ", 1) for l in sys.stdin if ": " in l); print("head", h["content-length"], h["content-type"])'

# 4. Download it whole, then one byte range (206).
curl -sf "${auth[@]}" -o "$tmp/copy.log" "$api/attachments/$id/content"
cmp -s "$tmp/export.log" "$tmp/copy.log" && echo "download identical"
curl -sf "${auth[@]}" -H "Range: bytes=0-9" -w ' (%{http_code})\n' "$api/attachments/$id/content"
