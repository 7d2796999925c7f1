"""Demo data so a newcomer can log in at once (idempotent)."""
from datetime import date

from sqlalchemy import select

from app.auth.models import ROLES, Department, Role, User
from app.customers.models import Customer
from app.extensions import db
from app.numbering import customer_number

DEPARTMENTS = [
    ("customer_service", "客服部", "Customer service"),
    ("after_sales", "售后部", "After-sales"),
    ("product", "产品部", "Product"),
]
USERS = [
    ("agent1", "王小明", "customer_service", ["agent"]),
    ("agent2", "李晓红", "customer_service", ["agent"]),
    ("service1", "孙客服", "customer_service", ["handler"]),  # handles consultations routed to customer service
    ("engineer1", "张工", "after_sales", ["handler"]),
    ("product1", "赵产品", "product", ["handler"]),
    ("supervisor1", "陈主管", "customer_service", ["supervisor"]),
    ("owner1", "刘流程", "customer_service", ["owner"]),
    ("admin", "系统管理员", "customer_service", ["admin", "supervisor"]),
]
CUSTOMERS = [
    ("上海精工制造有限公司", "manufacturing", "2021-03-15", "周经理", "13800138000", "zhou@jinggong.example.cn"),
    ("杭州惠民银行", "finance", "2019-07-01", "吴主任", "13900139000", "wu@huimin.example.cn"),
    ("北京优选零售连锁", "retail", "2023-01-10", "郑店长", "13700137000", None),
]


def demo_email(username):
    """The demo address of a demo user (example.com never receives mail)."""
    return f"{username}@example.com"


def seed_reference_data():
    """Roles and departments every installation needs; returns how many rows were added."""
    added = 0
    for code, (name, name_en) in ROLES.items():
        if db.session.get(Role, code) is None:
            db.session.add(Role(code=code, name=name, name_en=name_en))
            added += 1
    for code, name, name_en in DEPARTMENTS:
        if db.session.scalar(select(Department).where(Department.code == code)) is None:
            db.session.add(Department(code=code, name=name, name_en=name_en))
            added += 1
    db.session.flush()
    from app.channels.service import INTAKE_USER, system_user

    system_user(*INTAKE_USER)  # opens the tickets of the public intake page
    return added


def seed_demo(*, password="demo1234"):
    """Create demo departments, users and customers that do not exist yet; return how many rows were added."""
    added = seed_reference_data()
    for username, display, department, roles in USERS:
        existing = db.session.scalar(select(User).where(User.username == username))
        if existing is not None:
            if existing.email is None:  # demo users seeded before users had addresses
                existing.email = demo_email(username)
            continue
        user = User(username=username, display_name=display, email=demo_email(username))
        user.department = db.session.scalar(select(Department).where(Department.code == department))
        user.roles = [db.session.get(Role, r) for r in roles]
        user.set_password(password)
        db.session.add(user)
        added += 1
    for name, industry, start, contact, phone, email in CUSTOMERS:
        if db.session.scalar(select(Customer).where(Customer.name == name)) is not None:
            continue
        db.session.add(Customer(number=customer_number(), name=name, industry=industry,
                                cooperation_start=date.fromisoformat(start), contact_person=contact,
                                phone=phone, email=email))
        added += 1
    db.session.commit()
    return added
