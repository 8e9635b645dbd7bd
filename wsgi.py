from recall.web import create_app

app = create_app()
