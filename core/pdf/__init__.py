"""PDF helpers every stage uses: a CJK font (``fonts``) and the platform's signature
(``sign``). Each stage keeps its own documents (``bidding/bids/pdf/receipt.py``,
``bidding/opening/pdf/record.py``): a selector builds plain data, the renderer returns
bytes."""
