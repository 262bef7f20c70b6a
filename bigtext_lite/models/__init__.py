"""The chapters' neural models: bag of embeddings, LSTM, WordPiece and BERT.

Import each from its module (``from bigtext_lite.models.lstm import LSTMClassifier``):
a model's module loads only what that model needs.
"""
