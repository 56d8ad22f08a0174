"""The answering core: a resident's text → normalized words → the matcher's verdict → a
channel-neutral reply. Pure and synchronous, no channel and no network.

- `text`: normalization (Traditional → Simplified, full-width, emoji, typos' sound keys);
- `words`: segmentation and how much each word tells; `lexicon`: word knowledge beyond the FAQ;
- `smalltalk`: greetings, thanks, questions about the bot, asking for a person;
- `bins`: "X是什么垃圾" → the item X; `referrals`: another body's matter → where to go;
- `replies`: a verdict → a `Reply` (text plus buttons) every channel renders;
- `service`: `answer(question)`, the one path every channel calls, over the current FAQ
  snapshot, which it swaps atomically on reload.

The matcher itself (`servicebot.matching`) is a wing of its own: it is the biggest piece.
"""
