"""The only part of the SDK that touches window, document, cookies and the network."""
