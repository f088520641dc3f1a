"""Push to the province app: app keys, installations and devices, FCM configuration, per-device
and topic sends, the push state every job checks, and `flask push`.

- `devices`: what the app calls (registration, topics, push opt-outs), behind an app key;
- `installations`: an installation's own secret, limits per address, pruning;
- `config`: the per-process FCM gateway and a campaign's push content;
- `send`: push batch jobs (claim ledger rows, send through FCM, record each device's fate);
- `topic`: one FCM request for a whole audience, when that is as good as per-device sends;
- `state`: the campaign's push block, the project's quota pause, retry delays;
- `cli`: `flask push test|unblock|mode|prune-devices`.
"""
